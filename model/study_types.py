"""The seven MURA study types, and mapping DICOM header text onto them.

The mapping is shared by the app (worklist) and the trainer (site datasets without a
``study_type`` column), so a study is typed the same way in both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

STUDY_TYPES: tuple[str, ...] = ("ELBOW", "FINGER", "FOREARM", "HAND", "HUMERUS", "SHOULDER", "WRIST")

#: A study whose body part is none of the MURA types. It is still scored, but flagged as outside
#: the scope the model was trained on, because its probability means little there.
OTHER = "OTHER"

# Words (and common RIS abbreviations / other languages seen in Body Part Examined) per type.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "ELBOW": ("ELBOW", "ELB", "OLECRANON", "RADIAL HEAD", "COUDE", "ELLENBOGEN", "ELLBOGEN", "CODO", "GOMITO"),
    "FINGER": ("FINGER", "FINGERS", "FNGR", "THUMB", "DIGIT", "DIGITS", "PHALANX", "PHALANGES", "DOIGT",
               "DAUMEN", "DEDO", "DITO", "POUCE"),
    "FOREARM": ("FOREARM", "FORE ARM", "FORARM", "RADIUS ULNA", "ULNA", "UNTERARM", "AVANT BRAS",
                "AVANTBRAS", "ANTEBRAZO", "AVAMBRACCIO"),
    "HAND": ("HAND", "HANDS", "METACARPAL", "METACARPALS", "MAIN", "MANO", "HAENDE"),
    "HUMERUS": ("HUMERUS", "HUMER", "UPPER ARM", "OBERARM", "HUMERO", "BRAS"),
    "SHOULDER": ("SHOULDER", "SHLDR", "SHLD", "CLAVICLE", "SCAPULA", "GLENOHUMERAL", "AC JOINT", "EPAULE",
                 "SCHULTER", "HOMBRO", "SPALLA"),
    "WRIST": ("WRIST", "WRST", "SCAPHOID", "CARPAL", "CARPUS", "RADIUS DISTAL", "DISTAL RADIUS", "POIGNET",
              "HANDGELENK", "MUNECA", "POLSO"),
}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (study_type, re.compile(r"(?<![A-Z])" + re.escape(word).replace(r"\ ", r"[\s_\-]*") + r"(?![A-Z])"))
    for study_type, words in _KEYWORDS.items()
    for word in words
]


def _normalise(text: str) -> str:
    text = text.upper().replace("^", " ")
    # Accents (Body Part Examined is ASCII by standard, descriptions are not).
    return text.translate(str.maketrans("ÀÂÄÉÈÊËÎÏÔÖÙÛÜÇÑ", "AAAEEEEIIOOUUUCN"))


def study_type_from_text(text: str | None) -> str | None:
    """The MURA type named in one piece of text, or None.

    When several types are named (``"HAND AND WRIST"``), the first one in the text wins: RIS
    descriptions put the primary body part first.
    """
    if not text:
        return None
    normalised = _normalise(text)
    best: tuple[int, int, str] | None = None
    for study_type, pattern in _PATTERNS:
        match = pattern.search(normalised)
        if match:
            # earliest position first; at the same position the longer (more specific) word wins
            key = (match.start(), -(match.end() - match.start()), study_type)
            best = key if best is None or key < best else best
    return best[2] if best else None


def map_study_type(body_part: str | None, descriptions: Iterable[str | None] = ()) -> str:
    """Body Part Examined first, then study/series descriptions and protocol name; else OTHER."""
    for text in (body_part, *descriptions):
        found = study_type_from_text(text)
        if found:
            return found
    return OTHER
