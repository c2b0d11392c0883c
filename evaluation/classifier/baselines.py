"""Two baselines trained or written for the same corpus as the transformer.

- :class:`KeywordBaseline`: hand-written lexicon rules per label, drawn from the codebook's
  definitions and examples (no learning).
- :class:`TfidfBaseline`: word and character n-gram TF-IDF + one logistic regression per
  label (scikit-learn), class-balanced, with the decision threshold per label tuned on dev
  exactly as for the transformer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from compassion_nlp.classifier import LABELS, ClassifierInput
from compassion_nlp.training import best_thresholds

_RULES: dict[str, re.Pattern[str]] = {
    "EMPATHIC": re.compile(
        r"\b(sorry to hear|so sorry|i'?m sorry (?:about|that|you)|sounds (?:really |very |so )?"
        r"(?:frightening|scary|difficult|hard|tough|awful|horrible|terrible|stressful|"
        r"worrying|upsetting|painful|exhausting)|must (?:be|have been) (?:really |very |so )?"
        r"(?:hard|difficult|tough|frightening|scary|awful|horrible|stressful|worrying|"
        r"upsetting|exhausting)|i can see (?:you|this|that|how)|you (?:sound|seem|look) "
        r"(?:upset|worried|exhausted|tired|stressed|anxious|down)|that'?s (?:really )?"
        r"(?:tough|hard|awful|rough|horrible|terrible)|poor you|oh no)\b",
        re.I,
    ),
    "CONFIRMING": re.compile(
        r"\b(understandabl[ey]|makes (?:total |perfect )?sense|(?:completely |perfectly |"
        r"totally )?normal to (?:feel|be|worry)|anyone (?:would|in your)|right thing|"
        r"good question|no wonder|(?:very )?reasonable|i don'?t blame you|of course you'?d|"
        r"you were right to|it'?s (?:ok|okay|fine) to (?:feel|be))\b",
        re.I,
    ),
    "PURSUING": re.compile(
        r"\b(how (?:has|is) (?:this|that|it) (?:been )?affect|how (?:are|have) you (?:been )?"
        r"(?:coping|managing|feeling about)|how'?s your mood|tell me more|what worries you|"
        r"what (?:are|were) you (?:worried|concerned|hoping)|anything else (?:that'?s )?"
        r"(?:worrying|bothering|concerning)|(?:any|what) (?:concerns|worries)|we'?ll (?:go "
        r"through|work on|get through) (?:this|it) together|i'?m here (?:to|for)|"
        r"let'?s (?:find|work out) (?:a plan|something)|(?:support|help) you with)\b",
        re.I,
    ),
    "INCLUSIVE": re.compile(
        r"\b(what do (?:you|we) (?:all |guys )?think|(?:any|your) (?:thoughts|ideas|views|"
        r"opinions?)|anyone (?:else|see|have|got)|anything to add|(?:good|great) (?:point|"
        r"idea|catch|question)|thanks? (?:you )?for (?:flagging|raising|sharing|that|"
        r"bringing)|how do you feel about|what would you (?:prefer|like)|would you (?:be "
        r"happy|like) to|how does that sound|i'?d (?:like|love) to hear)\b",
        re.I,
    ),
    "CUE": re.compile(
        r"\b(worried|worry|scared|afraid|frightened|anxious|anxiety|nervous|stress(?:ed|ful)?|"
        r"upset|depress(?:ed|ion)|can'?t cope|struggling|frustrat(?:ed|ing)|overwhelm(?:ed|"
        r"ing)|terrified|panic|lonely|embarrass(?:ed|ing)|getting me down|fed up|"
        r"passed away|died|can'?t sleep|nightmare|exhausted|not safe|stretched)\b",
        re.I,
    ),
}


class KeywordBaseline:
    """Lexicon rules: a label fires when its pattern matches the utterance."""

    labels = LABELS

    def fit(self, *_: object) -> KeywordBaseline:
        """Nothing to learn."""
        return self

    def predict(self, items: Sequence[ClassifierInput]) -> np.ndarray:
        """Boolean matrix (n, labels)."""
        return np.array(
            [[bool(_RULES[label].search(i.text)) for label in LABELS] for i in items], dtype=bool
        ).reshape(len(items), len(LABELS))


class TfidfBaseline:
    """TF-IDF (word 1–2-grams + character 2–5-grams) and logistic regression per label."""

    labels = LABELS

    def __init__(self, seed: int = 13):
        self.seed = seed

    def _texts(self, items: Sequence[ClassifierInput]) -> list[str]:
        return [f"{i.role} {i.text}" for i in items]

    def fit(
        self, train: Sequence[ClassifierInput], y_train: np.ndarray,
        dev: Sequence[ClassifierInput], y_dev: np.ndarray,
    ) -> TfidfBaseline:
        """Fit on train, tune thresholds on dev."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        self.vectorizer = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3,
                                      sublinear_tf=True)),
        ])
        x = self.vectorizer.fit_transform(self._texts(train))
        self.models = []
        for j in range(len(LABELS)):
            model = LogisticRegression(
                C=4.0, class_weight="balanced", max_iter=2000, random_state=self.seed
            )
            model.fit(x, y_train[:, j] > 0.5)
            self.models.append(model)
        self.thresholds = best_thresholds(self.predict_proba(dev), y_dev, rule="f1_best")
        return self

    def predict_proba(self, items: Sequence[ClassifierInput]) -> np.ndarray:
        """Probability per label (n, labels)."""
        x = self.vectorizer.transform(self._texts(items))
        return np.column_stack([m.predict_proba(x)[:, 1] for m in self.models])

    def predict(self, items: Sequence[ClassifierInput]) -> np.ndarray:
        """Boolean matrix (n, labels) at the dev-tuned thresholds."""
        t = np.array([self.thresholds[label] for label in LABELS])
        return self.predict_proba(items) >= t
