"""``token_pattern`` as a set of token characters: the patterns whose ``re.findall`` is maximal runs.

A pattern that is one character class ``C`` repeated, ``C+`` or ``C{n,}`` (also written ``CC+``,
``C{2}C*``...), finds exactly the maximal runs of ``C`` characters at least ``n`` long: ``findall``
tries each position in turn; at the first character of a run the greedy repeat takes the whole run
(it cannot pass the character after it, which is not in ``C``), and the match succeeds if the run
is ``n`` or longer; inside a run the rest is shorter still, so nothing matches until the next run.
``\\b...\\b`` around the repeat changes nothing when ``C`` is exactly the word characters that
``\\b`` looks at (``\\w`` under the same flags): ``\\b`` holds at both ends of every run and at no
position inside one. One capturing group around the whole pattern returns the whole match, as
scikit-learn uses it. Flags change only which characters ``C`` matches, one character at a time.

The structure is read with Python's own parser, and the characters are read from Python's own
``re`` on the user's pattern: a code point ``c`` is a token character when the compiled pattern
fully matches ``c * n`` (``\\w`` itself, without ``(?i)``, is read as ``re.findall(r"\\w")`` over
every code point, once). So the set is Python's meaning by construction, flags included, and
``tests/test_text.py`` checks the tokens against ``re.findall`` on text holding every code point.
Anything else (look-arounds, back-references, alternation, anchors, lazy or bounded repeats,
inner groups, scoped flags) is refused with a reason that names what was found.
"""

from __future__ import annotations

import functools
import itertools
import re
import warnings

import numpy as np

from . import unicode

try:  # Python 3.11+
    from re import _parser as _sre
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre

#: The longest shortest-token accepted (each code point is tested on ``n`` copies of itself).
MAX_MIN_CHARS = 64
#: What is reproduced, for refusal messages.
SUPPORTED = (
    "one character class C repeated, C+ or C{n,} (C a literal, '.', \\w, \\d, \\s, their negations "
    "or a bracket class such as [a-z0-9_'-] or [^,;]), optionally in one capturing group around "
    "the whole pattern, and \\b...\\b only around \\w (the default (?u)\\b\\w\\w+\\b)"
)
#: Parse items that consume exactly one character.
_ONE_CHARACTER = (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN)
_BOUNDARY = (_sre.AT, _sre.AT_BOUNDARY)
_WORD = (_sre.IN, [(_sre.CATEGORY, _sre.CATEGORY_WORD)])


class UnsupportedPattern(ValueError):
    """A pattern whose ``findall`` is not maximal runs of one class; ``str()`` says why."""


def _found(items, top: bool = True) -> list[str]:
    """Names of the constructs in the parsed ``items`` that the run shape excludes."""
    names = {
        _sre.ASSERT: "a look-ahead or look-behind",
        _sre.ASSERT_NOT: "a negative look-ahead or look-behind",
        _sre.GROUPREF: "a back-reference",
        _sre.GROUPREF_EXISTS: "a conditional group",
        _sre.BRANCH: "an alternation (|)",
        _sre.MIN_REPEAT: "a lazy quantifier",
    }
    for name, what in (("POSSESSIVE_REPEAT", "a possessive quantifier"), ("ATOMIC_GROUP", "an atomic group")):
        if hasattr(_sre, name):
            names[getattr(_sre, name)] = what
    found = []
    for op, av in items:
        if op in names:
            found.append(names[op])
        elif op is _sre.AT and av is not _sre.AT_BOUNDARY:
            found.append("an anchor (^, $, \\A, \\Z or \\B)")
        elif op is _sre.SUBPATTERN and (av[1] or av[2]):
            found.append("scoped flags (?flags:...)")
        elif op is _sre.SUBPATTERN and (not top or len(items) > 1):
            found.append("a group inside the pattern")
        elif op is _sre.MAX_REPEAT and av[1] is not _sre.MAXREPEAT and av[0] != av[1]:
            found.append("a repeat with an upper bound ({n,m} or ?)")
        elif op is _sre.MAX_REPEAT and av[0] == 0 and len(items) == 1:
            found.append("a repeat that matches the empty string (*)")
        children = []
        if op is _sre.SUBPATTERN:
            children = [av[3]]
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op in (_sre.ASSERT, _sre.ASSERT_NOT):
            children = [av[-1]]
        elif op is _sre.BRANCH:
            children = av[1]
        for child in children:
            found += _found(list(child), top=False)
    return list(dict.fromkeys(found))


def _unwrap(items: list) -> tuple[list, bool]:
    """``items`` without one group around them all and ``\\b`` at both ends; whether ``\\b`` was there."""
    bounded = False
    for _ in range(2):  # (\b...\b) and \b(...)\b alike
        if len(items) == 1 and items[0][0] is _sre.SUBPATTERN and not (items[0][1][1] or items[0][1][2]):
            items = list(items[0][1][3])
        if not bounded and len(items) >= 3 and items[0] == _BOUNDARY and items[-1] == _BOUNDARY:
            items, bounded = items[1:-1], True
    return items, bounded


def _shortest(items: list):
    """``(item, n)`` when ``items`` is ``C`` or ``C{k}`` m characters in all, then ``C{r,}``, with
    ``n = m + r >= 1``; else None."""
    if not items or items[-1][0] is not _sre.MAX_REPEAT:
        return None
    low, high, body = items[-1][1]
    body = list(body)
    if high is not _sre.MAXREPEAT or len(body) != 1 or body[0][0] not in _ONE_CHARACTER:
        return None
    item, n = body[0], int(low)
    for op, av in items[:-1]:  # C or C{k} before the repeat
        if (op, av) == item:
            n += 1
        elif op is _sre.MAX_REPEAT and av[0] == av[1] and list(av[2]) == [item]:
            n += int(av[0])
        else:
            return None
    return (item, n) if n >= 1 else None


@functools.lru_cache(maxsize=32)
def token_runs(pattern: str) -> tuple[tuple[tuple[int, int], ...], int]:
    """``(runs, n)``: the code point runs of the token characters of ``pattern`` and the shortest
    token, when ``re.findall(pattern, text)`` is the maximal runs of those characters at least
    ``n`` long. Raises :class:`UnsupportedPattern` otherwise, saying why.
    """
    if not isinstance(pattern, str):
        raise UnsupportedPattern("a token pattern is a str")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "possible nested set": scikit-learn's compile warns already
        try:
            compiled = re.compile(pattern)
            parsed = list(_sre.parse(pattern))
        except re.error as error:
            raise UnsupportedPattern(f"Python's re cannot compile it ({error})") from None
    if compiled.groups > 1:
        raise UnsupportedPattern("it has more than one capturing group (scikit-learn refuses it too)")
    items, bounded = _unwrap(parsed)
    shape = _shortest(items)
    if shape is None:
        found = _found(parsed) or ["another shape"]
        raise UnsupportedPattern(f"it has {', '.join(found)}; reproduced exactly are {SUPPORTED}")
    item, n = shape
    if n > MAX_MIN_CHARS:
        raise UnsupportedPattern(
            f"its shortest token is {n} characters; at most {MAX_MIN_CHARS} are supported"
        )
    word = unicode.matching(r"(?a)\w" if compiled.flags & re.ASCII else r"(?u)\w")  # what \b reads
    if item == _WORD and not compiled.flags & re.IGNORECASE:
        runs = word  # \w itself (the default): re's \w over every code point, read once
    else:
        runs = tuple(unicode.ranges(unicode.scalars()[_members(compiled, n)]))
    if bounded and runs != word:
        raise UnsupportedPattern(
            "\\b...\\b around a class other than \\w: \\b then splits runs of the class at word "
            "characters outside it; drop the \\b (a run of the class is a token either way)"
        )
    if not runs:
        raise UnsupportedPattern("it matches no character, so every document has no tokens")
    try:
        unicode.separator(runs)
    except ValueError:
        raise UnsupportedPattern("it matches every character, so a whole document is one token") from None
    return runs, n


def _members(compiled: re.Pattern, n: int) -> np.ndarray:
    """Whether each Unicode scalar value ``c`` is a token character: ``compiled`` fully matches ``c * n``."""
    every = unicode._text(unicode.scalars())
    probes = every if n == 1 else map(str.__mul__, every, itertools.repeat(n))  # n copies of each
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.fromiter(map(bool, map(compiled.fullmatch, probes)), dtype=bool, count=len(every))
