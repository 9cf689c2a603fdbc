"""Reading MDS2 workbooks as vendors send them: the header found wherever it stands, answers as
typed, notes resolved; bad workbooks refused in one line naming the file (and cell)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from mds2_workbooks import NEMA_EXAMPLE, WM_LIKE, wm_like, write_workbook
from mt_eklient.errors import InputError
from mt_eklient.mds2 import normalise_answer, read_mds2


def refused(path) -> str:
    with pytest.raises(InputError) as err:
        read_mds2(path)
    [problem] = err.value.problems
    return str(problem)


@pytest.mark.parametrize(("typed", "answer", "notes"), [
    ("Yes", "Yes", ()), ("  yes ", "Yes", ()), ("NO", "No", ()), ("n/a", "N/A", ()), ("N/a", "N/A", ()), ("n.a.", "N/A", ()),
    ("Not applicable", "N/A", ()), ("See Note", "See Note", ()), ("see notes", "See Note", ()),
    ("See Note 3", "See Note", (3,)), ("Yes, see note 4", "Yes", (4,)), ("No (see notes 2, 5)", "No", (2, 5)),
    ("Y", "Yes", ()), ("yes\n", "Yes", ()),
])
def test_answers_are_normalised_as_vendors_type_them(typed, answer, notes):
    assert normalise_answer(typed) == (answer, notes)


@pytest.mark.parametrize("typed", ["Maybe", "Partially", "Yes and no", "1", "TBD", "Yes 3", "Noted"])
def test_unknown_answers_are_not_guessed(typed):
    assert normalise_answer(typed) is None


def test_nema_example_is_read_from_shared():
    book = read_mds2(NEMA_EXAMPLE)
    assert book.sheet == "mds2-form" and len(book.questions) > 200
    assert book.text("DOC-2") == "Handheld Blood Glucose Monitor"
    assert book.text("DOC-7") == "2019-10-09"           # a date cell
    assert book.answer("MLDP-2") == "No" and book.answer("SAHD-16") == "See Note"   # typed "See Notes"
    assert book.questions["MLDP-3"].notes == (
        "note 4: Firmware can only be modified by use of proprietary cable and software from a PC.",)
    assert book.questions["MLDP-3"].cell == "mds2-form!C178"
    assert book.questions["RDMP-3"].notes[0].endswith("www.companywebsite.com/support/thisdevice")


@pytest.mark.parametrize("layout", [
    {"header_row": 14, "first_col": 2},                       # header lower and one column to the right
    {"extra_column": True},                                   # a "Section" column between id and question
    {"notes_sheet": True},                                    # notes on a sheet of their own
    {"question_text": "Question for {qid}? / Fråga för {qid}?", "header": "Question ID / Fråge-ID"},
    {"sheet": "Formulär"},
    {"header": "Fråge-ID\nQuestion ID"},                        # the header in two languages
])
def test_layout_variants_read_the_same(tmp_path, layout):
    book = read_mds2(wm_like(tmp_path / "variant.xlsx", **layout))
    assert {q: book.answer(q) for q in ("MLDP-2", "MLDP-4", "CSUP-2.4", "CONN-6")} == {
        "MLDP-2": "Yes", "MLDP-4": "Yes", "CSUP-2.4": "Yes", "CONN-6": "No"}
    assert book.text("DOC-3") == "InfuView 5"
    assert book.questions["MLDP-2.8"].notes[0].startswith("note 1: Exclude D:\\InfuView\\Data")


def test_answers_in_any_case_and_a_note_typed_in_the_note_cell(tmp_path):
    answers = {**WM_LIKE, "MLDP-2": " YES ", "MLDP-4": "no", "CONN-6": "N/a"}
    book = read_mds2(write_workbook(tmp_path / "case.xlsx", answers,
                                    note_refs={"CONN-2": "Ports: see the network guide, chapter 4"}))
    assert (book.answer("MLDP-2"), book.answer("MLDP-4"), book.answer("CONN-6")) == ("Yes", "No", "N/A")
    assert book.questions["CONN-2"].notes == ("Ports: see the network guide, chapter 4",)


def test_formula_answers_are_not_evaluated(tmp_path):
    answers = {**WM_LIKE, "MLDP-2": "=IF(1=1,\"Yes\",\"No\")"}
    book = read_mds2(write_workbook(tmp_path / "formula.xlsx", answers))
    assert book.answer("MLDP-2") is None
    assert any("MLDP-2" in w and "formula" in w for w in book.warnings)


def test_missing_note_and_duplicate_id_are_warnings(tmp_path):
    book = read_mds2(write_workbook(tmp_path / "odd.xlsx", {**WM_LIKE}, note_refs={"MLDP-4": "See note 9"}))
    assert any("note 9" in w for w in book.warnings)


def test_release_date_typed_as_text_is_kept(tmp_path):
    book = read_mds2(write_workbook(tmp_path / "d.xlsx", {**WM_LIKE, "DOC-7": "March 2026"}))
    assert book.text("DOC-7") == "March 2026"
    book = read_mds2(write_workbook(tmp_path / "d2.xlsx", {**WM_LIKE, "DOC-7": date(2026, 3, 1)}))
    assert book.text("DOC-7") == "2026-03-01"


# ---------------------------------------------------------------- refused

def test_unknown_answer_names_file_row_question_and_cell(tmp_path):
    path = write_workbook(tmp_path / "bad.xlsx", {**WM_LIKE, "MLDP-4": "Maybe"})
    line = refused(path)
    assert line.startswith(f"{path}:")
    assert "MLDP-4: unknown answer 'Maybe' in mds2-form!C" in line and "Yes, No, N/A or See Note" in line


def test_not_an_xlsx(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("Question ID,Question\nMLDP-2,Yes\n")
    assert "not an xlsx workbook" in refused(path)


def test_corrupt_xlsx(tmp_path):
    good = wm_like(tmp_path / "good.xlsx").read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good[: len(good) // 2])
    assert "not an xlsx workbook" in refused(truncated) or "corrupt" in refused(truncated)
    hollow = tmp_path / "hollow.xlsx"
    with zipfile.ZipFile(hollow, "w") as archive:
        archive.writestr("hello.txt", "no workbook here")
    assert "corrupt xlsx workbook" in refused(hollow)


def test_damaged_sheet_inside_a_valid_package(tmp_path):
    good = wm_like(tmp_path / "good.xlsx")
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, b"<worksheet><sheetData><row" if item.filename.endswith("sheet1.xml") else data)
    line = refused(damaged)
    assert line.startswith(str(damaged)) and "corrupt" in line


def test_password_protected_workbook(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = wm_like(tmp_path / "plain.xlsx")
    encrypted = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, encrypted.open("wb") as target:
        OOXMLFile(source).encrypt("Secret-1", target)
    assert "password-protected" in refused(encrypted)


def test_old_xls_format(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    assert ".xls" in refused(path)


def test_workbook_without_question_id(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Item", "Answer"])
    book.active.append(["MLDP-2", "Yes"])
    book.save(tmp_path / "other.xlsx")
    assert "no sheet has a 'Question ID' header" in refused(tmp_path / "other.xlsx")


def test_question_id_without_mds2_ids(tmp_path):
    path = write_workbook(tmp_path / "empty.xlsx", {"Q1": "Yes", "Q2": "No"})
    assert "no question ids" in refused(path)


def test_missing_file(tmp_path):
    assert "no such file" in refused(tmp_path / "absent.xlsx")


def test_reader_never_writes_the_workbook(tmp_path):
    path = wm_like(tmp_path / "ro.xlsx")
    before = path.read_bytes()
    read_mds2(path)
    assert path.read_bytes() == before
    assert io.BytesIO(before).getbuffer().nbytes > 0
