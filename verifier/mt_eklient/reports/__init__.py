"""Scan reports. Every format renders from the same JSON report (`json_report.build_report`), so a
host or a finding cannot appear in one report and be missing from another.

- `console`: summary per host and per area (colour only on a terminal)
- `json_report`: the versioned JSON report (schemas/report.schema.json)
- `junit`: JUnit XML for CI (one testsuite per host, one testcase per control)
- `html_report`: one self-contained HTML file (inline CSS, no scripts, no external assets)
"""
