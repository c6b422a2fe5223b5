"""Text primitives every check is built from: words, terms, names, numbers, sentences, folding.

The only home of these rules: the gate, the citation checks, the summaries and the question
reading all see a word, a number or a sentence the same way.
"""

from __future__ import annotations

import re
import unicodedata

STOPWORDS = frozenset(
    """
a about above after again all also am an and any are as at be because been being below between both
but by can could did do does doing done during each few for from further had has have having how
i if in into is it its itself just may me might more most much must my no nor not now of off on once
only or other our out over own same shall she should so some such than that the their them then there
these they this those through to too under until up upon use used using very was we well were what
when where which while who whom whose why will with would yes you your paper papers study studies
abstract abstracts propose proposed present show shows shown result results approach method methods
based new novel work also one two three first second however thus therefore among within without
versus vs does did
""".split()
)


# A word may start with digits ("3D-Zoom"); its hyphens join letters or digits ("HIV-related"),
# so a double one is a dash between words ("Trendelenburg--a disaster"). A decimal may drop its
# leading zero ("P < .05").
_WORD = re.compile(r"\d*[A-Za-z](?:[A-Za-z0-9]|[-_](?=[A-Za-z0-9]))*|\d+(?:\.\d+)?%?|(?<![\w.])\.\d+%?")


_NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)%?")


# Names: tokens with digits, acronyms, CamelCase, and code identifiers ("simple_rl").
_SPECIFIC = re.compile(
    r"^(?=.*\d)[A-Za-z0-9\-]*[A-Za-z][A-Za-z0-9\-]*$|^[A-Z]{2,}[a-z]*s?$|^[A-Za-z]+[A-Z][A-Za-z\-]*$|"
    r"^\w+_\w+$"
)


def stem(word: str) -> str:
    word = word.lower().strip("-")
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:7]


def fold(text: str) -> str:
    """The text with accents taken off letters ("Déjà Vu" is "Deja Vu"), so names match however
    the model or the abstract wrote them."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    # "98.9 %" is the number 98.9%: abstracts space their percent signs either way, and arXiv's
    # keep LaTeX's escaped one ("100\%").
    return _WORD.findall(_SPACED_PERCENT.sub(r"\1%", fold(text)))


_SPACED_PERCENT = re.compile(r"(\d)(?:\s+|\\)%")


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w.lower() not in STOPWORDS and len(w) > 2 and not w.isdigit()}


def specific_terms(text: str) -> set[str]:
    """Names and numbers: acronyms, CamelCase, tokens with digits (GPT-4, kMaX, 76) and
    capitalised words inside a sentence (France, Monolith), unless the sentence is in title
    case ("Does Molecular Genotype Provide Useful Information ...?"), where capitals say nothing."""
    found = set()
    for sentence in sentences(text):
        shouted = _is_all_capitals(words(sentence))
        for clause in re.split(r":\s+", sentence):  # a subtitle after a colon starts with a capital
            tokens = words(clause)
            title_case = _is_title_case(tokens)
            for i, w in enumerate(tokens):
                if (
                    (_SPECIFIC.match(w) and not (shouted and w.isalpha()))
                    or _NUMBER.fullmatch(w)
                    or (i > 0 and w[0].isupper() and not title_case)
                ):
                    found.add(w)
    return {w.lower() for w in found if w.lower() not in STOPWORDS}


def _is_all_capitals(tokens: list[str]) -> bool:
    """A title in capitals ("PREVALENCE OF THE STREPTOCOCUS AGALACTIAE ..."): its words are not acronyms."""
    longer = [w for w in tokens if len(w) >= 4 and w.isalpha()]
    return len(longer) >= 3 and all(w.isupper() for w in longer)


def _is_title_case(tokens: list[str]) -> bool:
    """Most longer words after the first capitalised, and at least two of them."""
    longer = [w for w in tokens[1:] if len(w) >= 4 and w.isalpha()]
    capitalised = sum(1 for w in longer if w[0].isupper())
    return capitalised >= 2 and capitalised >= 0.6 * len(longer)


def _as_written(term: str) -> re.Pattern:
    """``term`` starting at a word's start in a text, however spaced or hyphenated ("256 KB" ~
    "256KB", "HIV-related" ~ "HIV related"), and never from inside another word: "ICU" is not in
    "music use", nor "LoRA" in "QLoRA". It may end inside a word, as an abbreviation does
    ("MR" in "MRI", "HDL-C" in "HDL-cholesterol")."""
    chars = re.sub(r"[^a-z0-9]+", "", term.lower())
    return re.compile(r"(?<![a-z0-9])" + r"[^a-z0-9]*".join(map(re.escape, chars)))


_NUMBER_IN_TEXT = re.compile(r"(?<![\d.])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)")


def numbers_in(text: str) -> set[float]:
    """The values of the numbers written in ``text`` ("1,024" is 1024)."""
    return {float(n.replace(",", "")) for n in _NUMBER_IN_TEXT.findall(text)}


# A name of two to four capitalised words ("United States", "Los Angeles"), and a name the
# question abbreviates itself ("angiotensin-converting enzyme-1 (ACE-1)").
_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,3}\b")
_ABBREVIATED_HERE = re.compile(r"((?:[\w-]+\s+){1,5})\(([A-Za-z][\w-]*)\)")


def abbreviated(question: str, text: str) -> set[str]:
    """The question's names that ``text`` writes only abbreviated (lower case, as
    ``specific_terms``): the words of a capitalised name whose initials it has, in capitals
    ("United States": "U.S.", "US"), and the expansion's words where the question gives the
    abbreviation and the text has it ("... enzyme-1 (ACE-1)": "ACE-1")."""
    found: set[str] = set()
    for run in _CAPITALISED_RUN.findall(question):
        parts = run.split()
        initials = r"\.?\s?".join(p[0] for p in parts)
        if re.search(rf"(?<![A-Za-z]){initials}\.?(?![A-Za-z])", text):
            found |= {p.lower() for p in parts}
    for expansion, abbreviation in _ABBREVIATED_HERE.findall(question):
        if mentions(text, abbreviation):  # the expansion: about a word per letter
            letters = sum(c.isalpha() for c in abbreviation)
            found |= {w.lower() for w in expansion.split()[-letters:]}
    return found


def mentions(text: str, term: str) -> bool:
    """Whether ``text`` mentions ``term``, ignoring case, spaces and hyphens ("256 KB" ~ "256KB");
    a hyphenated word is also mentioned when each of its parts is ("HIV-related": "HIV", "related"),
    but not a versioned name ("GPT-4" is not "GPT" and some "4")."""
    text, term = fold(text), fold(term)
    if re.fullmatch(r"\d+(?:\.\d+)?%?|\.\d+%?", term):
        # Compared as numbers: "0.05" is ".05" and "79.4" is "79.40", but "79" is not "79.5".
        return float(term.rstrip("%")) in numbers_in(text)
    if _as_written(term).search(text.lower()) or spelled_out(text, term):
        return True
    parts = [p for p in term.split("-") if p]
    return len(parts) > 1 and all(p.isalpha() for p in parts) and all(mentions(text, p) for p in parts)


_LINKING = frozenset("of and for the in on to with".split())


def spelled_out(text: str, acronym: str) -> bool:
    """Whether ``text`` writes out ``acronym`` in full: consecutive content words whose initials
    spell it ("health maintenance organization" for HMO, "chronic low back pain" for CLBP); a
    linking word in between may count ("quality of life", QOL) or not ("intensive care unit",
    "intensive care of the unit"). Only short, letter-only terms; a two-letter one only from
    capitalised words ("United Kingdom"), since any two adjacent words spell some pair of letters."""
    letters = acronym.lower()
    if not (2 <= len(letters) <= 5 and letters.isalpha()):
        return False
    tokens = re.findall(r"[A-Za-z]+", text)
    content = [
        len(w) >= 3 and w.lower() not in STOPWORDS and (len(letters) > 2 or w[0].isupper()) for w in tokens
    ]

    def spells(i: int, matched: int) -> bool:
        if matched == len(letters):
            return True
        if i >= len(tokens):
            return False
        initial_fits = tokens[i][0].lower() == letters[matched]
        linking = tokens[i].lower() in _LINKING
        return (initial_fits and (content[i] or linking) and spells(i + 1, matched + 1)) or (
            linking and spells(i + 1, matched)
        )

    return any(
        content[i] and tokens[i][0].lower() == letters[0] and spells(i + 1, 1) for i in range(len(tokens))
    )


def sentences(text: str) -> list[str]:
    return [
        s.strip()
        for s in re.split(r"(?<=[.!?])(?<!e\.g\.)(?<!i\.e\.)(?<!al\.)\s+(?=[A-Za-z0-9(\[])", text)
        if s.strip()
    ]


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def term_found(term: str, source_terms: set[str]) -> bool:
    """Whether a question's (stemmed) term is among the source's, tolerating another form of the
    word ("consume" for "consumption": six letters in common) and an abbreviation ("val" for
    "validation": a short term that begins a longer one)."""
    return term in source_terms or any(
        (len(term) >= 6 and _shared_prefix(term, s) >= 6)
        or (3 <= len(term) <= 4 < len(s) and s.startswith(term))
        for s in source_terms
    )


def coverage(question: str, text: str) -> float:
    """The share of the question's content terms that ``text`` contains (see ``term_found``)."""
    terms, found = content_terms(question), content_terms(text)
    return sum(term_found(t, found) for t in terms) / len(terms) if terms else 0.0


def support(claim_terms: set[str], source_text: str) -> float:
    """Share of the claim's content terms found in the source."""
    return len(claim_terms & content_terms(source_text)) / len(claim_terms) if claim_terms else 0.0


def best_sentence(claim: str, source_text: str, *, last_on_tie: bool = False) -> str:
    """The source sentence sharing most terms with ``claim``; on a tie the first one, or the last."""
    return best_of(claim, sentences(source_text), last_on_tie=last_on_tie) or source_text[:300]


def best_of(claim: str, candidates: list[str], *, last_on_tie: bool = False) -> str:
    """The candidate sentence sharing most terms with ``claim`` ("" when there are none)."""
    terms = content_terms(claim)
    scored = [(len(terms & content_terms(s)), i if last_on_tie else -i, s) for i, s in enumerate(candidates)]
    return max(scored)[2] if scored else ""


def is_name_like(word: str) -> bool:
    """A token written like a name: with digits, an acronym, CamelCase or a code identifier."""
    return _SPECIFIC.match(word) is not None


def complete_sentences(text: str) -> str:
    """The text up to its last finished sentence ("" when none is finished)."""
    parts = sentences(text)
    if parts and not re.search(r"[.!?][\"')\]]*$", parts[-1]):
        parts = parts[:-1]
    return " ".join(parts)
