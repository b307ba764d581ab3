"""An offline text encoder: TF-IDF reduced by truncated SVD (latent semantic analysis).

Fitted on the dataset's own texts (``needs_fit = True``). Two TF-IDF blocks -- word 1-2-grams
and character 3-5-grams inside word boundaries (robust to inflections and typos) -- each with
sublinear tf, idf and unit rows, are concatenated and projected on the top ``dim`` right singular
vectors of the corpus matrix, then L2-normalised. A corpus with fewer documents (or features)
than ``dim`` gives fewer components; the rest of the vector is zero, so the length is always
``dim``. Fitting uses the sorted unique texts, so the fitted state is a function of
:meth:`TfidfLsaEncoder.corpus_fingerprint` alone.

The fitted state is plain arrays (terms as unicode strings, idf, SVD components) and the
transform is computed from exactly those arrays, so a state restored from
``np.savez``/``np.load(allow_pickle=False)`` gives bit-identical vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmviewer.core.data import media
from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.base import Encoder

#: Up to this many documents the SVD is exact, through the documents' Gram matrix (never a
#: dense documents x features array); above it, sklearn's randomized TruncatedSVD.
EXACT_SVD_DOCS = 1500
#: Characters of one document that are embedded: the n-grams of 8 MB of text took 52 s and
#: 1.3 GB; the first 100,000 characters (a long article) describe it as well.
MAX_CHARS = 100_000


class TfidfLsaEncoder(Encoder):
    """TF-IDF (word + char n-grams) -> LSA to ``dim``; see the module docstring.

    Parameters
    ----------
    n_components : int
        Output length (``dim``).
    max_features : int
        Vocabulary cap per block (most frequent n-grams kept); bounds the state size at
        ``dim * 2 * max_features`` float32 (~41 MB at the defaults).
    char_weight : float
        Weight of the character block relative to the word block.
    """

    modality = "text"
    batch_size = 1024
    needs_fit = True

    def __init__(
        self, n_components: int = 256, max_features: int = 20_000, char_weight: float = 1.0
    ) -> None:
        self.n_components = int(n_components)
        self.max_features = int(max_features)
        self.char_weight = float(char_weight)
        self.fingerprint_: str | None = None
        self.terms_: dict[str, np.ndarray] = {}
        self.idf_: dict[str, np.ndarray] = {}
        self.components_: np.ndarray | None = None
        self._vectorizers: dict[str, Any] = {}

    # -- the Encoder interface -------------------------------------------------------------------
    @property
    def id(self) -> str:
        if self.fingerprint_ is None:
            raise RuntimeError("TfidfLsaEncoder has no id before fit() or load_state_arrays()")
        return f"tfidf-lsa{self.n_components}-{self.fingerprint_}"

    @property
    def dim(self) -> int:
        return self.n_components

    def prepare(self, ref: MediaRef) -> media.Loaded:
        return media.clip_text(media.load_text(ref), MAX_CHARS)

    def encode(self, payloads: Sequence[Any]) -> np.ndarray:
        if self.components_ is None:
            raise RuntimeError("TfidfLsaEncoder.encode before fit() or load_state_arrays()")
        if not len(payloads):
            return np.zeros((0, self.n_components), np.float32)
        x = self._tfidf([str(p) for p in payloads]) @ self.components_.T
        return _unit_rows(np.asarray(x, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        """One free query text as a (dim,) vector (zero when it shares no n-gram with the corpus)."""
        return self.encode([text.strip()])[0]

    def describe(self) -> str:
        return f"TF-IDF (word 1-2 + char 3-5 grams) + LSA, {self.n_components}-d"

    # -- fitting ---------------------------------------------------------------------------------
    def _params(self) -> dict:
        return {
            "v": 1,
            "n_components": self.n_components,
            "max_features": self.max_features,
            "char_weight": self.char_weight,
        }

    def corpus_fingerprint(self, payloads: Sequence[Any]) -> str:
        h = hashlib.sha256(json.dumps(self._params(), sort_keys=True).encode())
        for text in sorted({str(p) for p in payloads}):
            h.update(text.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()[:12]

    def fit(self, payloads: Sequence[Any]) -> TfidfLsaEncoder:
        """Learn the vocabularies, idf and SVD components from the corpus; returns self."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = sorted({str(p) for p in payloads})
        if not docs:
            raise ValueError("cannot fit TF-IDF on an empty corpus")
        self.terms_, self.idf_, self._vectorizers = {}, {}, {}
        for block, kwargs in _BLOCKS.items():
            vec = TfidfVectorizer(
                sublinear_tf=True, max_features=self.max_features, dtype=np.float64, **kwargs
            )
            try:
                vec.fit(docs)
            except ValueError:  # "empty vocabulary": e.g. texts with no word of two letters
                self.terms_[block], self.idf_[block] = np.array([], dtype=str), np.zeros(0)
                continue
            terms = vec.get_feature_names_out()
            self.terms_[block] = np.asarray(terms, dtype=str)
            self.idf_[block] = np.asarray(vec.idf_, dtype=np.float64)
        x = self._tfidf(docs)
        self.components_ = _top_components(x, self.n_components)
        self.fingerprint_ = self.corpus_fingerprint(docs)
        return self

    def state_arrays(self) -> dict[str, np.ndarray]:
        if self.components_ is None:
            raise RuntimeError("nothing fitted yet")
        out = {
            "params": np.array(json.dumps(self._params(), sort_keys=True)),
            "fingerprint": np.array(self.fingerprint_),
            "components": self.components_,
        }
        for block in _BLOCKS:
            out[f"{block}_terms"] = self.terms_[block]
            out[f"{block}_idf"] = self.idf_[block]
        return out

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> TfidfLsaEncoder:
        try:
            params = json.loads(str(arrays["params"]))
            components = np.asarray(arrays["components"], dtype=np.float32)
            terms = {b: np.asarray(arrays[f"{b}_terms"], dtype=str) for b in _BLOCKS}
            idf = {b: np.asarray(arrays[f"{b}_idf"], dtype=np.float64) for b in _BLOCKS}
            fingerprint = str(arrays["fingerprint"])
        except (KeyError, ValueError, TypeError) as err:
            raise ValueError(f"not a TF-IDF encoder state ({err})") from None
        if params != self._params():
            raise ValueError(
                f"TF-IDF state was fitted with {params}, this encoder uses {self._params()}"
            )
        n = sum(len(t) for t in terms.values())
        if components.shape != (self.n_components, n) or any(
            len(terms[b]) != len(idf[b]) for b in _BLOCKS
        ):
            raise ValueError("TF-IDF state arrays have inconsistent shapes")
        self.terms_, self.idf_, self.components_ = terms, idf, components
        self.fingerprint_, self._vectorizers = fingerprint, {}
        return self

    # -- the transform, from the state arrays only -------------------------------------------------
    def _tfidf(self, docs: list[str]):
        """(n_docs, n_features) sparse TF-IDF: sublinear tf x idf, unit rows per block, weighted."""
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import CountVectorizer

        blocks = []
        for block, kwargs in _BLOCKS.items():
            terms = self.terms_[block]
            if not len(terms):
                continue
            if block not in self._vectorizers:
                self._vectorizers[block] = CountVectorizer(
                    vocabulary=terms.tolist(), dtype=np.float64, **kwargs
                )
            counts = self._vectorizers[block].transform(docs).tocsr()
            np.log(counts.data, out=counts.data)
            counts.data += 1.0
            x = counts @ sp.diags(self.idf_[block])
            norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
            weight = self.char_weight if block == "char" else 1.0
            scale = np.divide(weight, norms, out=np.zeros_like(norms), where=norms > 0)
            blocks.append(sp.diags(scale) @ x)
        if not blocks:
            return sp.csr_matrix((len(docs), 0))
        return sp.hstack(blocks, format="csr")


_BLOCKS: dict[str, dict] = {
    "word": {
        "analyzer": "word",
        "ngram_range": (1, 2),
        "lowercase": True,
        "strip_accents": "unicode",
    },
    "char": {
        "analyzer": "char_wb",
        "ngram_range": (3, 5),
        "lowercase": True,
        "strip_accents": "unicode",
    },
}


def _top_components(x, dim: int) -> np.ndarray:
    """(dim, n_features) float32: the top right singular vectors, zero rows past the rank."""
    n_docs, n_features = x.shape
    out = np.zeros((dim, n_features), dtype=np.float32)
    k = min(dim, n_docs, n_features)
    if k == 0:
        return out
    if n_docs <= EXACT_SVD_DOCS or k >= min(n_docs, n_features) - 1:
        # X = U S Vt  =>  X Xt = U S^2 Ut and Vt = S^-1 Ut X (exact, n_docs^2 memory).
        gram = np.asarray((x @ x.T).todense(), dtype=np.float64)
        eigval, u = np.linalg.eigh(gram)
        order = np.argsort(eigval)[::-1][:k]
        s = np.sqrt(np.clip(eigval[order], 0.0, None))
        keep = s > 1e-6 * max(s[0], 1e-30)
        vt = np.asarray(x.T @ u[:, order[keep]]).T / s[keep, None]
    else:
        from sklearn.decomposition import TruncatedSVD

        vt = (
            TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=0)
            .fit(x)
            .components_
        )
    # A singular vector's sign is arbitrary: fix it (largest entry positive) for reproducibility.
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    out[: len(vt)] = vt * signs[:, None]
    return out


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 1e-12)
