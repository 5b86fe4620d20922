"""spaCy pipeline components of the report parser (registered on import).

The pipeline is ``spacy.blank("en")`` with scispacy's rule tokenizer, then:

- ``igcl_tokens``: the token view the rules read (:class:`igcl.reports.extract.TextState`), built from one
  ``Doc.to_array`` call; whitespace tokens are dropped, blank lines and section starts
  (``doc.user_data["igcl_section_starts"]``, character offsets) become sentence breaks;
- ``igcl_sentences``: rule-based sentence split (``.``/``?``/``!``, blank lines, section starts). medspaCy's PyRuSH
  splitter runs about 250 reports/s per core, too slow for the parse stage's budget;
- ``igcl_entities``: lexicon lookup with RadGraph's entity conventions;
- ``igcl_assertion``: negation/hedging scope (our own ConText-style scan: medspaCy's ConText is a Matcher per
  rule set plus Span objects per target, several times slower than the dictionary scan);
- ``igcl_relations``: modify / located_at / suggestive_of.

Each component reads and writes ``doc.user_data["igcl"]`` (a ``TextState``).
"""



from bisect import bisect_left

from spacy.attrs import IDX, IS_SPACE, LENGTH, LIKE_NUM, LOWER
from spacy.language import Language
from spacy.tokens import Doc

from igcl.reports import extract

STATE_KEY = "igcl"
SECTION_STARTS_KEY = "igcl_section_starts"
TEXT_KEY = "igcl_text"  # the doc's text, set by the parser (Doc.text rebuilds it from the tokens: slow)


@Language.factory("igcl_tokens")
class TokenView:
    """Builds the ``TextState`` of a doc: lexicon words (others ``None``), character spans, sentence breaks."""

    def __init__(self, nlp: Language, name: str):
        strings = nlp.vocab.strings
        self.known = {strings.add(word): word for word in extract.KNOWN_WORDS}

    def __call__(self, doc: Doc) -> Doc:
        get = self.known.get
        words, starts, ends, numeric, breaks = [], [], [], [], set()
        text = None
        # one to_array call, then plain lists: numpy column operations cost more than they save on ~100 tokens
        for lower, idx, length, space, num in doc.to_array([LOWER, IDX, LENGTH, IS_SPACE, LIKE_NUM]).tolist():
            if space:
                text = text or doc.user_data.get(TEXT_KEY) or doc.text
                if "\n\n" in text[idx:idx + length]:
                    breaks.add(len(words))
                continue
            words.append(get(lower))
            starts.append(idx)
            ends.append(idx + length)
            numeric.append(num)
        for char in doc.user_data.get(SECTION_STARTS_KEY, ()):
            breaks.add(bisect_left(starts, char))
        doc.user_data[STATE_KEY] = extract.TextState(words, starts, ends, numeric, breaks)
        return doc


@Language.component("igcl_sentences")
def sentences_component(doc: Doc) -> Doc:
    extract.find_sentences(doc.user_data[STATE_KEY])
    return doc


@Language.component("igcl_entities")
def entities_component(doc: Doc) -> Doc:
    extract.find_entities(doc.user_data[STATE_KEY])
    return doc


@Language.component("igcl_assertion")
def assertion_component(doc: Doc) -> Doc:
    extract.assign_assertion(doc.user_data[STATE_KEY])
    return doc


@Language.component("igcl_relations")
def relations_component(doc: Doc) -> Doc:
    extract.find_relations(doc.user_data[STATE_KEY])
    return doc


PIPE_NAMES = ("igcl_tokens", "igcl_sentences", "igcl_entities", "igcl_assertion", "igcl_relations")
