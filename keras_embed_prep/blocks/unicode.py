"""Python's own Unicode rules as tables: the ``\\w`` of ``re``, ``str.lower()`` and its final sigma.

scikit-learn tokenizes with Python's ``re`` and lowercases with ``str.lower()``, both Unicode-aware
and both tied to the Unicode version of the running Python. TensorFlow's regex ops use RE2, whose
``\\w`` is ASCII and whose ``\\p{...}`` classes follow RE2's own Unicode version, and
``tf.strings.lower`` follows ICU's. Neither is exact (docs/text.md lists the differences), so the
tables here are read from Python itself, over every code point, when a vectorizer is converted:
the converted model reproduces the Python that scikit-learn runs in, by construction.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

#: The one upper-case letter whose lower case is two characters in Python ('İ' -> 'i̇').
DOTTED_CAPITAL_I = "\u0130"
#: The letter whose lower case depends on its neighbours (σ or final ς).
CAPITAL_SIGMA = 0x03A3


def _text(codes: np.ndarray) -> str:
    """The string of the code points ``codes`` (an int array of any shape, read in order)."""
    return np.ascontiguousarray(codes, dtype="<u4").tobytes().decode("utf-32-le")


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.int64)


@functools.lru_cache(maxsize=1)
def scalars() -> np.ndarray:
    """Every Unicode scalar value (surrogates excluded: they cannot be encoded in UTF-8 text)."""
    codes = np.arange(0x110000, dtype=np.int64)
    return codes[(codes < 0xD800) | (codes > 0xDFFF)]


def ranges(codes: np.ndarray) -> list[tuple[int, int]]:
    """Sorted code points as inclusive ``(first, last)`` runs."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(codes) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [codes.size - 1]])
    return [(int(codes[s]), int(codes[e])) for s, e in zip(starts, ends, strict=True)]


def re2_class(runs: list[tuple[int, int]], negate: bool = False) -> str:
    """An RE2 character class matching exactly the code points in ``runs``."""
    body = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in runs)
    return f"[{'^' if negate else ''}{body}]"


def separator(runs: list[tuple[int, int]]) -> str:
    """A character outside ``runs`` to split tokens at: a space when it is not a token character,
    else the smallest other code point that is not (never NUL, never a surrogate)."""
    runs = sorted((int(a), int(b)) for a, b in runs)
    if not any(a <= ord(" ") <= b for a, b in runs):
        return " "
    candidate = 1
    for first, last in runs:
        if 0xD800 <= candidate <= 0xDFFF:
            candidate = 0xE000
        if first > candidate:
            break
        candidate = max(candidate, last + 1)
    if 0xD800 <= candidate <= 0xDFFF:  # past the last run: the next scalar is free
        candidate = 0xE000
    if candidate > 0x10FFFF:
        raise ValueError("every character but NUL is a token character: nothing separates tokens")
    return chr(candidate)


@functools.lru_cache(maxsize=8)
def matching(pattern: str) -> tuple[tuple[int, int], ...]:
    """The code points that the one-character Python pattern ``pattern`` matches, as runs."""
    return tuple(ranges(_codes("".join(re.findall(pattern, _text(scalars()))))))


@functools.lru_cache(maxsize=1)
def lower_table() -> tuple[np.ndarray, np.ndarray]:
    """``(keys, values)``: each code point whose ``str.lower()`` is one other code point.

    'İ' (two code points) and capital sigma (context-dependent) are handled apart; a test checks
    that no other character lowers to more than one code point.
    """
    codes = scalars()
    codes = codes[(codes != ord(DOTTED_CAPITAL_I)) & (codes != CAPITAL_SIGMA)]
    lowered = _codes(_text(codes).lower())  # context-free here, one code point each (tested)
    changed = lowered != codes
    return codes[changed].astype(np.int32), lowered[changed].astype(np.int32)


@functools.lru_cache(maxsize=1)
def sigma_context() -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """``(cased, ignorable)`` runs: Python's Cased and Case_Ignorable properties, read from ``lower()``.

    CPython lowers capital sigma to final ς when the nearest character before it that is not
    case-ignorable is cased, and the nearest one after it that is not case-ignorable is not cased
    (or there is none). Lowering ``' ' + c + 'Σ'`` gives ς exactly when ``c`` is cased and not
    case-ignorable; ``' A' + c + 'Σ'`` gives ς exactly when ``c`` is case-ignorable or cased.
    The space (neither) separates the probes, so one ``lower()`` call reads every code point.
    """
    codes = scalars()
    codes = codes[(codes != ord(" ")) & (codes != ord(DOTTED_CAPITAL_I))]  # 'İ': cased, one probe apart

    def finals(prefix: str) -> np.ndarray:
        head = np.broadcast_to(_codes(prefix), (codes.size, len(prefix)))
        probes = np.column_stack([head, codes, np.full(codes.size, CAPITAL_SIGMA)])
        lowered = _codes(_text(probes).lower()).reshape(probes.shape)  # lengths kept without 'İ'
        return lowered[:, -1] == 0x03C2

    cased_plain = finals(" ")
    ignorable = finals(" A") & ~cased_plain
    codes = np.append(codes, ord(DOTTED_CAPITAL_I))
    cased_plain = np.append(cased_plain, True)
    ignorable = np.append(ignorable, False)
    order = np.argsort(codes)
    codes, cased_plain, ignorable = codes[order], cased_plain[order], ignorable[order]
    return tuple(ranges(codes[cased_plain])), tuple(ranges(codes[ignorable]))


@functools.lru_cache(maxsize=2)
def accent_table(kind: str) -> tuple[list[str], list[str]]:
    """``(keys, values)``: scikit-learn's ``strip_accents`` (``'ascii'`` or ``'unicode'``) of each
    character that it changes (for ``'ascii'``, before the non-ASCII characters left are dropped).

    Both functions are NFKD then a filter. NFKD decomposes each character on its own and then
    only reorders characters of nonzero combining class, which ``'unicode'`` drops and which are
    not ASCII: so the function of a string is the concatenation of its characters' images, and a
    per-character table is exact. The images are computed by scikit-learn's own functions.
    """
    from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode

    keys, values = [], []
    for c in _text(scalars()):
        if kind == "ascii":
            if ord(c) < 0x80 or unicodedata.is_normalized("NFKD", c):
                continue  # unchanged, or dropped with every non-ASCII character
            image = strip_accents_ascii(c)
        else:
            if ord(c) < 0x80 or (unicodedata.is_normalized("NFKD", c) and not unicodedata.combining(c)):
                continue
            image = strip_accents_unicode(c)
        if image != c:
            keys.append(c)
            values.append(image)
    return keys, values
