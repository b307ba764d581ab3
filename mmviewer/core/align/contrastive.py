"""Contrastive alignment: two projection heads trained on the symmetric InfoNCE loss.

InfoNCE is a lower bound on the mutual information between the two modalities (van den Oord et
al. 2018); this is the CLIP recipe on top of fixed embeddings. torch is imported inside ``fit``
only, so importing this module stays cheap; fitted heads are numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.runtime.cancel import check_cancelled


class ContrastiveAligner(Aligner):
    """Two projection heads trained on the symmetric InfoNCE loss (CLIP-style), with torch.

    Inputs are centred on the training means; each head is linear (or one hidden GELU layer);
    logits are ``exp(s) * za @ zb.T`` of the L2-normalised outputs, with ``s`` the log inverse
    temperature (learnable or fixed, capped at 100). A seeded ``validation_fraction`` of the
    *training* pairs is held out for early stopping and the best validation epoch is kept.
    Randomness comes only from ``random_state`` via local numpy / torch generators (the global
    torch seed is untouched). The fitted heads are numpy arrays: transforms need no torch.

    Parameters
    ----------
    n_components : int
        Shared-space dimension.
    hidden : int, optional
        Hidden width of MLP heads; linear heads when omitted.
    temperature, learn_temperature
        Initial (or fixed) softmax temperature and whether it is learned.
    epochs, batch_size, lr, weight_decay
        AdamW over shuffled minibatches (``batch_size=None``: full batch).
    validation_fraction, patience
        Early stopping: held-out share of the training pairs (0: off), epochs without gain.
    random_state : int, Generator or None

    Attributes
    ----------
    heads_a_, heads_b_ : list of (W, b) arrays
    temperature_ : float
    n_epochs_, best_epoch_ : int
    history_ : dict of lists ``train_loss``, ``val_loss``
    """

    min_pairs = 4

    @property
    def is_affine(self) -> bool:  # linear heads are affine; a hidden GELU layer is not
        return not self.hidden

    def __init__(
        self,
        n_components: int = 128,
        hidden: int | None = None,
        temperature: float = 0.07,
        learn_temperature: bool = True,
        epochs: int = 200,
        batch_size: int | None = 512,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        validation_fraction: float = 0.1,
        patience: int = 10,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components, self.hidden = n_components, hidden
        self.temperature, self.learn_temperature = temperature, learn_temperature
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.validation_fraction, self.patience = validation_fraction, patience
        self.random_state = random_state

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        import torch
        import torch.nn.functional as F

        if not float(self.temperature) > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        rng = np.random.default_rng(self.random_state)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        n_val = int(round(float(self.validation_fraction) * len(a)))
        n_val = n_val if n_val >= 2 and len(a) - n_val >= 2 else 0
        perm = torch.as_tensor(rng.permutation(len(a)))
        val, train = perm[:n_val], perm[n_val:]
        self.mean_a_, self.mean_b_ = a.mean(axis=0), b.mean(axis=0)
        xs = [torch.as_tensor(x - m, dtype=torch.float32) for x, m in ((a, self.mean_a_), (b, self.mean_b_))]
        heads = []
        for x in xs:
            dims = [x.shape[1], *([int(self.hidden)] if self.hidden else []), int(self.n_components)]
            heads.append([
                ((torch.randn(i, o, generator=gen) / math.sqrt(i)).requires_grad_(),
                 torch.zeros(o, requires_grad=True))
                for i, o in zip(dims[:-1], dims[1:], strict=True)
            ])
        log_scale = torch.tensor(-math.log(float(self.temperature)))
        weights = [p for layers in heads for layer in layers for p in layer]
        groups = [{"params": weights, "weight_decay": float(self.weight_decay)}]
        if self.learn_temperature:
            groups.append({"params": [log_scale.requires_grad_()], "weight_decay": 0.0})
        opt = torch.optim.AdamW(groups, lr=float(self.lr))

        def embed(layers: list, x: torch.Tensor) -> torch.Tensor:
            for i, (w, bias) in enumerate(layers):
                x = x @ w + bias
                x = F.gelu(x, approximate="tanh") if i < len(layers) - 1 else x
            return F.normalize(x, dim=1)

        def loss(idx: torch.Tensor) -> torch.Tensor:
            za, zb = embed(heads[0], xs[0][idx]), embed(heads[1], xs[1][idx])
            logits = log_scale.clamp(max=math.log(100.0)).exp() * za @ zb.T
            target = torch.arange(len(idx))
            return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

        n_batches = max(1, len(train) // max(2, int(self.batch_size or len(train))))
        history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        best, best_epoch, snapshot, epoch = math.inf, 0, None, 0
        for epoch in range(1, int(self.epochs) + 1):
            total = 0.0
            for idx in torch.tensor_split(train[torch.randperm(len(train), generator=gen)], n_batches):
                check_cancelled()
                opt.zero_grad()
                batch_loss = loss(idx)
                batch_loss.backward()
                opt.step()
                total += batch_loss.item() / n_batches
            history["train_loss"].append(total)
            if n_val:
                with torch.no_grad():
                    history["val_loss"].append(float(loss(val)))
            current = history["val_loss"][-1] if n_val else total
            if current < best - 1e-3 or snapshot is None:  # gain of at least 1e-3 nats
                best, best_epoch = current, epoch
                snapshot = [p.detach().numpy().astype(np.float64) for p in [*weights, log_scale]]
            elif n_val and epoch - best_epoch >= int(self.patience):
                break
        pairs = list(zip(snapshot[0:-1:2], snapshot[1:-1:2], strict=True))
        self.heads_a_, self.heads_b_ = pairs[: len(heads[0])], pairs[len(heads[0]) :]
        self.temperature_ = float(np.exp(-min(float(snapshot[-1]), math.log(100.0))))
        self.n_epochs_, self.best_epoch_, self.history_ = epoch, best_epoch, history

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
