"""MDS2 workbooks built with openpyxl for the tests, in the layout variants vendors send."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

REPO = Path(__file__).resolve().parents[2]
NEMA_EXAMPLE = REPO.parent / "shared" / "data" / "mds2" / "Example-MDS2-Worksheet.xlsx"

# A WM-like product: software on a Windows client the hospital provides, anti-malware allowed.
WM_LIKE: dict[str, Any] = {
    "DOC-1": "Acme Medical AB", "DOC-2": "Infusion overview workstation software", "DOC-3": "InfuView 5",
    "DOC-4": "ACME-MDS2-0042 rev B", "DOC-5": "security@acme-medical.example",
    "DOC-6": "Shows infusion pump status on the ward", "DOC-7": datetime(2026, 3, 1),
    "DOC-8": "Yes", "DOC-9": "No", "DOC-11": "Yes", "DOC-11.1": "No", "DOC-11.2": "Yes", "DOC-11.3": "No",
    "DOC-11.4": "Yes",
    "MPII-3.3": "No",
    "AUTH-1": "Yes", "AUTH-1.2": "Yes", "AUTH-1.3": "No", "AUTH-3": "Yes", "AUTH-5": "No",
    "CSUP-2": "Yes", "CSUP-2.1": "Yes", "CSUP-2.2": "No", "CSUP-2.3": "No", "CSUP-2.4": "Yes",
    "CSUP-7": "Yes", "CSUP-8": "No", "CSUP-9": "Yes", "CSUP-10": "Yes", "CSUP-10.1": "No", "CSUP-11": "Yes",
    "MLDP-1": "Yes", "MLDP-2": "Yes", "MLDP-2.1": "No", "MLDP-2.2": "No", "MLDP-2.3": "Yes", "MLDP-2.4": "Yes",
    "MLDP-2.8": "Yes", "MLDP-3": "N/A", "MLDP-4": "Yes",
    "CONN-1.2": "Yes", "CONN-1.2.2": "Yes", "CONN-1.2.3": "No", "CONN-2": "Yes", "CONN-4": "No", "CONN-6": "No",
    "RMOT-1": "Yes", "RMOT-1.1": "Yes", "RMOT-1.2": "Yes",
    "STCF-1": "Yes", "STCF-1.2": "No", "STCF-1.3": "Yes",
    "RDMP-3": "Yes", "RDMP-4": "Yes",
}
WM_LIKE_NOTE_REFS = {"MLDP-2.8": "See Note 1", "CONN-2": "See Note 2", "RDMP-3": "Note 3"}
WM_LIKE_NOTES = {
    1: "Exclude D:\\InfuView\\Data and %PROGRAMDATA%\\Acme\\InfuView from scanning; no scans during rounds.",
    2: "TCP 443 to the InfuView server; TCP 2575 HL7 from the pump gateway.",
    3: "https://acme-medical.example/support/infuview-5",
}


def write_workbook(path: Path, answers: dict[str, Any], *, note_refs: dict[str, str] | None = None,
                   notes: dict[int, str] | None = None, header_row: int = 5, first_col: int = 1,
                   extra_column: bool = False, question_text: str = "Question for {qid}?",
                   header: str = "Question ID", notes_sheet: bool = False, sheet: str = "mds2-form") -> Path:
    """One form sheet: a title, the header row at `header_row`, one row per question, then the notes."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.cell(1, first_col, "Manufacturer Disclosure Statement for Medical Device Security -- MDS2")
    labels = [header, *(["Section"] if extra_column else []), "Question", "Yes, No, N/A, or See Note", "Note #",
              "IEC TR 80001-2-2:2012", "NIST SP 800-53 Rev. 4"]
    for offset, label in enumerate(labels):
        ws.cell(header_row, first_col + offset, label)
    row = header_row + 1
    for qid, answer in answers.items():
        values = [qid, *([qid.split("-")[0]] if extra_column else []), question_text.format(qid=qid), answer,
                  (note_refs or {}).get(qid, "__"), "Section 5", "AC-1"]
        for offset, value in enumerate(values):
            ws.cell(row, first_col + offset, value)
        row += 1
    target = book.create_sheet("Notes") if notes_sheet else ws
    row = 1 if notes_sheet else row + 2
    target.cell(row, first_col, "Notes:")
    for number, text in (notes or {}).items():
        row += 1
        target.cell(row, first_col, f"Note {number}")
        target.cell(row, first_col + 1, text)
    book.save(path)
    return path


def wm_like(path: Path, changes: dict[str, Any] | None = None, note_refs: dict[str, str] | None = None,
            **layout: Any) -> Path:
    """The WM-like workbook with some answers changed (None removes the question)."""
    answers = {**WM_LIKE, **(changes or {})}
    return write_workbook(path, {k: v for k, v in answers.items() if v is not None},
                          note_refs=WM_LIKE_NOTE_REFS if note_refs is None else note_refs, notes=WM_LIKE_NOTES,
                          **layout)
