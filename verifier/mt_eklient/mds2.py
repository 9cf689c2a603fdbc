"""Reading a manufacturer's MDS2 workbook (ANSI/NEMA HN 1-2019): each question's normalised answer
and notes, with the cell it came from.

The form is found by its "Question ID" header cell, not by a fixed row or column: vendors insert
rows, columns and a second language. The workbook is opened read-only and formulas are never
evaluated (a formula in an answer cell counts as no answer). Anything that makes the workbook
unreadable as an MDS2 form raises InputError naming the file (and the cell).
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from .errors import InputError, Problem

Answer = Literal["Yes", "No", "N/A", "See Note"]
ANSWERS: tuple[Answer, ...] = ("Yes", "No", "N/A", "See Note")
# DOC-1..DOC-7 are free text (names, contact, dates); every other question is answered Yes/No/N/A.
FREE_TEXT = frozenset(f"DOC-{n}" for n in range(1, 8))

QUESTION_ID = re.compile(r"^[A-Z]{3,4}-\d+(\.\d+)*$")
_HEADER = re.compile(r"^question\s*id\b", re.IGNORECASE)
_NOTE_ROW = re.compile(r"^note\s*#?\s*(\d+)\s*[:.)-]?\s*(.*)$", re.IGNORECASE | re.DOTALL)
_NOTE_REF = re.compile(r"notes?\s*#?\s*((?:\d+\s*(?:,|&|and|/)?\s*)+)", re.IGNORECASE)
_NO_NOTE = re.compile(r"^[\s_\-–—]*$")
_ANSWER_WORD = re.compile(r"^(not applicable|see notes?|n/a|n\.a\.?|na|yes|no|y|n)(?=$|[\s,;:.()\-–])",
                          re.IGNORECASE)
_ANSWER_REST = re.compile(r"^[\s,;:.()\-–]*(?:(?:see\s+)?notes?\s*#?\s*)?(\d+(?:\s*(?:,|&|and|/)\s*\d+)*)?[\s.)]*$",
                          re.IGNORECASE)
_WORDS: dict[str, Answer] = {"yes": "Yes", "y": "Yes", "no": "No", "n": "No", "n/a": "N/A", "na": "N/A",
                             "n.a": "N/A", "not applicable": "N/A",
                             "see note": "See Note", "see notes": "See Note"}
# An OOXML file encrypted with a password is an OLE compound file with an EncryptionInfo stream.
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
# The form has about 350 rows in 4-8 columns; the bounds keep a hostile or bloated sheet cheap.
_SCAN_COLUMNS = 40
_SCAN_ROWS = 5000


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answer: Answer | None        # None: left empty, or a formula (never evaluated)
    value: str | None            # the answer as typed (free text for DOC-1..7, dates as YYYY-MM-DD)
    notes: tuple[str, ...]       # note texts the row refers to, resolved from the notes area
    cell: str                    # where the answer stands, e.g. "mds2-form!C169"
    row: int


@dataclass(frozen=True)
class Workbook:
    path: str
    sha256: str
    sheet: str
    questions: dict[str, Question]
    # Oddities that do not stop the reading (duplicate ids, formulas, notes that do not exist).
    warnings: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return Path(self.path).name

    def answer(self, qid: str) -> Answer | None:
        question = self.questions.get(qid)
        return question.answer if question else None

    def text(self, qid: str) -> str | None:
        question = self.questions.get(qid)
        return question.value if question else None

    def describe(self, qid: str) -> str:
        """`MLDP-2 = No`, `CSUP-2.4 missing`: how a finding or comment cites a question."""
        question = self.questions.get(qid)
        if question is None:
            return f"{qid} missing"
        if question.answer is None and question.value is None:
            return f"{qid} unanswered"
        return f"{qid} = {question.answer or question.value}"


def normalise_answer(value: str) -> tuple[Answer, tuple[int, ...]] | None:
    """`' YES, see note 4'` -> ("Yes", (4,)); None when the text is no MDS2 answer."""
    text = re.sub(r"\s+", " ", value).strip()
    word = _ANSWER_WORD.match(text)
    rest = _ANSWER_REST.match(text[word.end():]) if word else None
    if not word or not rest:
        return None
    answer = _WORDS[word.group(1).lower().rstrip(".")]
    if rest.group(1) and answer != "See Note" and not re.search(r"note", rest.group(0), re.IGNORECASE):
        return None  # "Yes 3": a number without "note" is no note reference
    return answer, tuple(int(n) for n in re.findall(r"\d+", rest.group(1) or ""))


def _note_numbers(text: str) -> tuple[int, ...]:
    found = _NOTE_REF.search(text or "")
    return tuple(int(n) for n in re.findall(r"\d+", found.group(1))) if found else ()


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _is_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def _open(path: Path) -> Any:
    import openpyxl  # imported here: only `mtk profile draft/diff` need it

    try:
        head = path.read_bytes()[:8] if path.is_file() else None
    except OSError as err:
        raise InputError.single(str(path), f"cannot read: {err}") from None
    if head is None:
        raise InputError.single(str(path), "no such file")
    if head == _OLE_MAGIC:
        if _ENCRYPTION_INFO in path.read_bytes():
            raise InputError.single(str(path), "the workbook is password-protected (encrypted): save a copy "
                                    "without a password and draft from that")
        raise InputError.single(str(path), "an Excel 97-2003 (.xls) file, not .xlsx: save it as .xlsx first")
    if not zipfile.is_zipfile(path):
        raise InputError.single(str(path), "not an xlsx workbook (the file is corrupt or of another format)")
    try:
        with warnings.catch_warnings():
            # openpyxl warns about print areas and data validation it does not keep: irrelevant here.
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise InputError.single(str(path), f"corrupt xlsx workbook: {type(err).__name__}: {err}") from None


def _rows(sheet: Any, source: str) -> list[tuple[Any, ...]]:
    try:
        return [tuple(row) for row in sheet.iter_rows(max_row=_SCAN_ROWS, max_col=_SCAN_COLUMNS,
                                                         values_only=True)]
    except Exception as err:  # noqa: BLE001 - a damaged sheet part
        raise InputError.single(source, f"corrupt sheet {sheet.title!r}: {type(err).__name__}: {err}") from None


def _header(rows: list[tuple[Any, ...]]) -> tuple[int, int] | None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            # "Question ID", or one of its translations: "Fråge-ID / Question ID", "Fråge-ID\nQuestion ID"
            if isinstance(value, str) and any(_HEADER.match(part.strip()) for part in re.split(r"[/\n|]", value)):
                return r, c
    return None


def _columns(header: tuple[Any, ...], id_col: int) -> tuple[int, int, int | None]:
    """Question, answer and note columns from the header row's labels, else by position."""
    labels = {c: re.sub(r"\s+", " ", str(v)).strip().lower() for c, v in enumerate(header)
              if c > id_col and v is not None and str(v).strip()}
    question = next((c for c, label in labels.items() if label.startswith("question")), id_col + 1)
    answer = next((c for c, label in labels.items()
                   if c > question and ("answer" in label or label.startswith("yes"))), question + 1)
    note = next((c for c, label in labels.items() if c > question and c != answer and "note" in label), None)
    return question, answer, note


def _notes_area(rows_by_sheet: list[list[tuple[Any, ...]]]) -> dict[int, str]:
    """`Note 4 | text` (or `Note 4: text` in one cell) anywhere in the workbook."""
    notes: dict[int, str] = {}
    for rows in rows_by_sheet:
        for row in rows:
            cells = [_cell_text(v) for v in row]
            filled = [(i, t) for i, t in enumerate(cells) if t]
            if not filled:
                continue
            match = _NOTE_ROW.match(filled[0][1])
            if not match:
                continue
            text = match.group(2).strip() or (filled[1][1] if len(filled) > 1 else "")
            if text:
                notes.setdefault(int(match.group(1)), re.sub(r"\s+", " ", text))
    return notes


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col + 1)


def read_mds2(path: str | Path) -> Workbook:
    """Read an MDS2 workbook; InputError (exit 2) when it is not one or an answer is unknown."""
    path = Path(path)
    book = _open(path)
    try:
        sheets = [s for s in book.worksheets if hasattr(s, "iter_rows")]
        all_rows = [_rows(s, str(path)) for s in sheets]
    finally:
        book.close()
    source = str(path)
    found = next(((s, rows, h) for s, rows in zip(sheets, all_rows, strict=True) if (h := _header(rows))), None)
    if found is None:
        raise InputError.single(source, "not an MDS2 form: no sheet has a 'Question ID' header cell")
    sheet, rows, (header_row, id_col) = found
    q_col, a_col, n_col = _columns(rows[header_row], id_col)
    notes = _notes_area(all_rows)
    questions: dict[str, Question] = {}
    problems: list[Problem] = []
    notices: list[str] = []

    def cell(row: tuple[Any, ...], col: int | None) -> Any:
        return row[col] if col is not None and col < len(row) else None

    for r in range(header_row + 1, len(rows)):
        row = rows[r]
        qid = (_cell_text(cell(row, id_col)) or "").upper()
        if not QUESTION_ID.match(qid):
            continue
        where = f"{sheet.title}!{_letter(a_col)}{r + 1}"
        raw, note_cell = cell(row, a_col), cell(row, n_col)
        answer: Answer | None = None
        value = None
        refs: tuple[int, ...] = ()
        if _is_formula(raw):
            notices.append(f"{qid}: the answer in {where} is a formula ({raw}), which is not evaluated: "
                           "counted as unanswered")
        else:
            value = _cell_text(raw)
        if value is not None and qid not in FREE_TEXT:
            parsed = normalise_answer(value) if isinstance(raw, str) else None
            if parsed is None:
                problems.append(Problem(source, r + 1, qid, f"unknown answer {value!r} in {where} "
                                        "(expected Yes, No, N/A or See Note)"))
                continue
            answer, refs = parsed
        note_texts: list[str] = []
        note_value = None if _is_formula(note_cell) else _cell_text(note_cell)
        if note_value and not _NO_NOTE.match(note_value):
            numbers = refs + _note_numbers(note_value)
            if not numbers:
                note_texts.append(re.sub(r"\s+", " ", note_value))  # the note typed in the cell itself
        else:
            numbers = refs
        for number in dict.fromkeys(numbers):
            if number in notes:
                note_texts.append(f"note {number}: {notes[number]}")
            else:
                notices.append(f"{qid} refers to note {number}, which the workbook does not have")
        if qid in questions:
            notices.append(f"{qid} appears twice (rows {questions[qid].row} and {r + 1}): the first is used")
            continue
        questions[qid] = Question(qid, re.sub(r"\s+", " ", _cell_text(cell(row, q_col)) or ""), answer,
                                  value, tuple(note_texts), where, r + 1)
    if problems:
        raise InputError(problems)
    if not questions:
        raise InputError.single(source, f"not an MDS2 form: no question ids (like DOC-1, MLDP-2) under the "
                                f"'Question ID' header of sheet {sheet.title!r}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Workbook(source, digest, sheet.title, questions, tuple(notices))
