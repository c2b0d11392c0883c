"""The examples in the docstrings of the pure modules run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from compassion_nlp import config, lexicon, markup


@pytest.mark.parametrize("module", [config, lexicon, markup], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
