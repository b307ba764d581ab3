"""Contrastive alignment: two projection heads trained on the symmetric InfoNCE loss.

InfoNCE is a lower bound on the mutual information between the two modalities (van den Oord et
al. 2018); this is the CLIP recipe on top of fixed embeddings. With few pairs (hundreds to tens
of thousands) heads trained from a random start lose to closed-form CCA, so by default the heads
act on whitened inputs and *start* at the regularised CCA solution; InfoNCE then fine-tunes them,
and a validation share of the training pairs decides how far (zero epochs: CCA itself). torch is
imported inside ``fit`` only, so importing this module stays cheap; fitted heads are numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.align.linear import CCAAligner, cca_solution
from mmviewer.core.runtime.cancel import check_cancelled

#: Validation pairs at most (the validation score is a (v x v) similarity matrix per epoch).
MAX_VALIDATION = 4000
#: Pairs one epoch visits at most (a fresh seeded sample each epoch): bounds a fit on 50k pairs.
MAX_EPOCH_PAIRS = 16_384
#: Temperatures tried for the starting point when ``temperature`` is None.
TEMPERATURE_GRID = np.geomspace(0.01, 1.0, 21)
DEFAULT_COMPONENTS = 128
#: Fine-tuning is kept only when its validation gain over the start (per pair) exceeds this many
#: standard errors: with a few hundred validation pairs the best epoch is often chance.
SIGNIFICANCE = 2.0
MAX_SCALE = 100.0  # logit scale cap (temperature >= 0.01), as in CLIP


class ContrastiveAligner(Aligner):
    """Two projection heads trained on the symmetric InfoNCE loss (CLIP-style), with torch.

    Inputs are centred on the training means and whitened (covariances shrunk by ``reg``, as
    in :class:`~mmviewer.core.align.linear.CCAAligner`); linear heads start at the CCA
    projections (``init='cca'``), MLP heads (one hidden GELU layer) from a seeded random start.
    Logits are ``exp(s) * za @ zb.T`` of the L2-normalised outputs, ``s`` the log inverse
    temperature (learned or fixed, capped at 100). ``weight_decay`` pulls the weights towards
    their starting point (decoupled, as in AdamW), so a linear head is CCA regularised by
    InfoNCE rather than a fresh model.

    A seeded ``validation_fraction`` of the *training* pairs (at most ``MAX_VALIDATION``) is
    held out: the starting temperature is the one of ``TEMPERATURE_GRID`` with the lowest
    validation loss, and after every epoch the validation pairs are ranked; the epoch with the
    best symmetric mean reciprocal rank is kept, epoch 0 (the start) included, and training
    stops after ``patience`` epochs without gain. With ``refit`` the heads are then trained
    again on *all* training pairs for that many epochs. Randomness comes only from
    ``random_state`` via local numpy / torch generators (the global torch seed is untouched).
    The fitted heads are numpy arrays with the whitening folded in: transforms need no torch,
    and linear heads stay affine (:meth:`~mmviewer.core.align.base.Aligner.affine_map`).

    Parameters
    ----------
    n_components : int, optional
        Shared-space dimension, at most ``min(d_a, d_b)`` for CCA-started heads; by default
        ``DEFAULT_COMPONENTS`` (or ``min(d_a, d_b)`` when smaller).
    hidden : int, optional
        Hidden width of MLP heads; linear heads when omitted.
    init : {'cca', 'random'}
        Starting point of linear heads.
    reg : float in [0, 1]
        Covariance shrinkage of the whitening (and of the CCA start).
    temperature : float, optional
        Starting (or fixed) softmax temperature; chosen on the validation pairs when omitted.
    learn_temperature : bool
    epochs, batch_size, lr, weight_decay
        Adam over shuffled minibatches (``batch_size=None``: full batch), decay towards the start;
        an epoch visits at most ``MAX_EPOCH_PAIRS`` pairs (a fresh seeded sample each time).
    validation_fraction, patience
        Model selection: held-out share of the training pairs (0: off), epochs without gain.
    refit : bool
        Train again on every training pair for the selected number of epochs.
    random_state : int, Generator or None

    Attributes
    ----------
    heads_a_, heads_b_ : list of (W, b) arrays
        Layers acting on the centred raw vectors (whitening folded into the first).
    temperature_ : float
    n_epochs_, best_epoch_ : int
        Epochs run during selection, and the one kept (0: the starting point).
    validation_mrr_ : float
        Symmetric validation MRR of the kept epoch (NaN without validation pairs).
    history_ : dict of lists ``train_loss``, ``val_mrr`` (index 0: the start)
    """

    min_pairs = 4

    @property
    def is_affine(self) -> bool:  # linear heads are affine; a hidden GELU layer is not
        return not self.hidden

    def __init__(
        self,
        n_components: int | None = None,
        hidden: int | None = None,
        init: str = "cca",
        reg: float = 0.3,
        temperature: float | None = None,
        learn_temperature: bool = True,
        epochs: int = 100,
        batch_size: int | None = 512,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        validation_fraction: float = 0.1,
        patience: int = 3,
        refit: bool = True,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components, self.hidden, self.init, self.reg = n_components, hidden, init, reg
        self.temperature, self.learn_temperature = temperature, learn_temperature
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.validation_fraction, self.patience, self.refit = validation_fraction, patience, refit
        self.random_state = random_state

    def _check_params(self, a: np.ndarray, b: np.ndarray) -> int:
        if self.init not in ("cca", "random"):
            raise ValueError(f"init must be 'cca' or 'random', got {self.init!r}")
        if not 0.0 <= float(self.reg) <= 1.0:
            raise ValueError(f"reg must be in [0, 1], got {self.reg}")
        if self.temperature is not None and not float(self.temperature) > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        kmax = min(a.shape[1], b.shape[1]) if self.init == "cca" and not self.hidden else None
        if self.n_components is None:
            return min(DEFAULT_COMPONENTS, kmax or DEFAULT_COMPONENTS)
        k = int(self.n_components)
        kmax = kmax or max(k, 1)
        if not 1 <= k <= kmax:
            raise ValueError(f"n_components must be in [1, {kmax}], got {self.n_components}")
        return k

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        import torch

        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)  # its training is float64
        k = self._check_params(a, b)
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**62))
        n_val = min(int(round(float(self.validation_fraction) * len(a))), MAX_VALIDATION)
        n_val = n_val if n_val >= 2 and len(a) - n_val >= 4 else 0
        perm = rng.permutation(len(a))
        val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        fit = _Fit(self, k, torch.Generator().manual_seed(seed))
        state = fit.run(a[train], b[train], (a[val], b[val]) if n_val else None,
                        int(self.epochs), self.temperature)
        self.n_epochs_, self.best_epoch_, self.history_ = fit.epoch, fit.best_epoch, fit.history
        self.validation_mrr_ = fit.best if n_val else math.nan
        if n_val and self.refit:
            refit = _Fit(self, k, torch.Generator().manual_seed(seed))
            state = refit.run(a, b, None, fit.best_epoch, fit.start_temperature)
        self.mean_a_, self.mean_b_, self.heads_a_, self.heads_b_, self.temperature_ = state
        self.whitened_ = True

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> ContrastiveAligner:
        if "whitened_" not in arrays:  # heads of an older version (no whitening, random start)
            raise ValueError("a contrastive fit of an older version; fit again")
        return super().load_state_arrays(arrays)

    def _embed(self, layers: list, x: np.ndarray) -> np.ndarray:
        for i, (w, bias) in enumerate(layers):
            x = x @ w + bias
            if i < len(layers) - 1:  # tanh GELU, as in training
                x = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
        return x

    def _transform_a(self, a: np.ndarray) -> np.ndarray:
        return self._embed(self.heads_a_, a - self.mean_a_)

    def _transform_b(self, b: np.ndarray) -> np.ndarray:
        return self._embed(self.heads_b_, b - self.mean_b_)


class _Fit:
    """One training run of a :class:`ContrastiveAligner` (the selection run or the refit)."""

    def __init__(self, params: ContrastiveAligner, k: int, gen) -> None:
        self.p, self.k, self.gen = params, k, gen
        self.history: dict[str, list[float]] = {"train_loss": [], "val_mrr": []}
        self.epoch = self.best_epoch = 0
        self.best = -math.inf
        self.start_temperature = params.temperature

    def _start(self, a: np.ndarray, b: np.ndarray):
        """Centring, whitening and the starting layers (torch tensors) of both heads."""
        import torch

        means = a.mean(axis=0), b.mean(axis=0)
        wa, wb, u, s, vt = cca_solution(a - means[0], b - means[1], float(self.p.reg))
        if self.p.init == "cca" and not self.p.hidden:
            scale = np.clip(s[: self.k], 0.0, 1.0) ** (CCAAligner().power / 2.0)
            starts = [[u[:, : self.k] * scale], [vt[: self.k].T * scale]]
        else:
            starts = []
            for w in (wa, wb):
                dims = [len(w), *([int(self.p.hidden)] if self.p.hidden else []), self.k]
                starts.append([torch.randn(i, o, generator=self.gen, dtype=torch.float64).numpy()
                               / math.sqrt(i) for i, o in zip(dims[:-1], dims[1:], strict=True)])
        heads = [[(torch.tensor(w, dtype=torch.float32).requires_grad_(),
                   torch.zeros(w.shape[1], requires_grad=True)) for w in layers] for layers in starts]
        return means, (wa, wb), heads

    def run(self, a, b, validation, epochs: int, temperature: float | None):
        """Train; return ``(mean_a, mean_b, heads_a, heads_b, temperature)`` of the kept epoch."""
        import torch
        import torch.nn.functional as F

        means, whiten, heads = self._start(a, b)

        def inputs(x, side):  # whitened in float32, as trained
            w = torch.as_tensor(whiten[side], dtype=torch.float32)
            return torch.as_tensor(x - means[side], dtype=torch.float32) @ w

        xs = [inputs(a, 0), inputs(b, 1)]
        vs = None if validation is None else [inputs(validation[0], 0), inputs(validation[1], 1)]

        def embed(layers, x):
            for i, (w, bias) in enumerate(layers):
                x = x @ w + bias
                x = F.gelu(x, approximate="tanh") if i < len(layers) - 1 else x
            return F.normalize(x, dim=1)

        def info_nce(za, zb, scale):
            logits, target = scale * za @ zb.T, torch.arange(len(za))
            return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

        if temperature is None:
            pairs = vs or xs  # the grid temperature that best fits the starting heads
            step = max(1, len(pairs[0]) // MAX_VALIDATION)
            with torch.no_grad():
                z = embed(heads[0], pairs[0][::step]), embed(heads[1], pairs[1][::step])
                losses = [float(info_nce(*z, 1.0 / t)) for t in TEMPERATURE_GRID]
            temperature = float(TEMPERATURE_GRID[int(np.argmin(losses))])
        self.start_temperature = temperature
        log_scale = torch.tensor(-math.log(temperature), requires_grad=bool(self.p.learn_temperature))
        weights = [t for layers in heads for layer in layers for t in layer]
        anchors = [t.detach().clone() for t in weights]
        opt = torch.optim.Adam([*weights, log_scale] if self.p.learn_temperature else weights,
                               lr=float(self.p.lr))
        decay = float(self.p.lr) * float(self.p.weight_decay)

        def snapshot():
            w = [t.detach().numpy().astype(np.float64) for t in weights]
            out = []
            for side, layers in enumerate(heads):
                parts = [w.pop(0) for _ in range(2 * len(layers))]
                pairs = list(zip(parts[0::2], parts[1::2], strict=True))
                pairs[0] = (whiten[side] @ pairs[0][0], pairs[0][1])  # fold the whitening in
                out.append(pairs)
            t = math.exp(-min(float(log_scale.detach()), math.log(MAX_SCALE)))
            return (means[0], means[1], out[0], out[1], t)

        def validation_rr() -> np.ndarray:
            """Per validation pair: the mean reciprocal rank of its partner, both ways."""
            with torch.no_grad():
                sim = embed(heads[0], vs[0]) @ embed(heads[1], vs[1]).T
                pos = sim.diagonal()
                ranks_ab = (sim > pos[:, None]).sum(1) + 1
                ranks_ba = (sim > pos[None, :]).sum(0) + 1
                return ((1.0 / ranks_ab + 1.0 / ranks_ba) / 2).numpy().astype(np.float64)

        n = len(xs[0])
        per_epoch = min(n, MAX_EPOCH_PAIRS)
        n_batches = max(1, per_epoch // max(2, int(self.p.batch_size or per_epoch)))
        kept = start = snapshot()
        if vs is not None:
            rr_start = best_rr = validation_rr()
            self.best = float(rr_start.mean())
            self.history["val_mrr"].append(self.best)
        for epoch in range(1, epochs + 1):
            total = 0.0
            for idx in torch.tensor_split(torch.randperm(n, generator=self.gen)[:per_epoch], n_batches):
                check_cancelled()
                opt.zero_grad()
                loss = info_nce(embed(heads[0], xs[0][idx]), embed(heads[1], xs[1][idx]),
                                log_scale.clamp(max=math.log(MAX_SCALE)).exp())
                loss.backward()
                opt.step()
                with torch.no_grad():
                    for w, w0 in zip(weights, anchors, strict=True):
                        w.sub_(decay * (w - w0))
                total += loss.item() / n_batches
            self.history["train_loss"].append(total)
            self.epoch = epoch
            if vs is None:
                kept = None
                continue
            rr = validation_rr()
            score = float(rr.mean())
            self.history["val_mrr"].append(score)
            if score > self.best + 1e-4:
                self.best, self.best_epoch, kept, best_rr = score, epoch, snapshot(), rr
            elif epoch - self.best_epoch >= int(self.p.patience):
                break
        if vs is not None and self.best_epoch and not _significant(best_rr - rr_start):
            # a gain the validation pairs cannot tell from noise: keep the start
            self.best, self.best_epoch, kept = float(rr_start.mean()), 0, start
        return kept if kept is not None else snapshot()


def _significant(gain: np.ndarray) -> bool:
    """Whether a paired per-pair gain has a mean over ``SIGNIFICANCE`` standard errors."""
    se = float(gain.std(ddof=1)) / math.sqrt(len(gain)) if len(gain) > 1 else math.inf
    return float(gain.mean()) > SIGNIFICANCE * se
