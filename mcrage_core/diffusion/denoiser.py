"""Conditional denoiser: an MLP with residual blocks that predicts the added noise.

The condition is a *cell*: one value per condition column (race, sex, age band...)
plus the outcome label. Each component has its own embedding table whose last row
is a learned *null* token; the embeddings are summed, so cells that share a race
or an outcome share parameters and a cell with few rows still borrows strength.
Classifier-free guidance drops the whole condition (all components set to null)
with probability ``cond_drop_prob`` during training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Denoiser", "timestep_embedding"]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps ``t`` (shape ``[B]``) -> ``[B, dim]``."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    args = t.float().unsqueeze(-1) * freqs.unsqueeze(0)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class _Block(nn.Module):
    """Pre-norm residual MLP block; the time + condition embedding is added to its input
    (cheap additive conditioning, as in TabDDPM's MLP, but at every block)."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.act = nn.SiLU()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        y = self.act(self.fc1(self.norm(h) + emb))
        return h + self.fc2(self.dropout(y))


class Denoiser(nn.Module):
    """``(x_t, t, cond) -> predicted noise``.

    Parameters
    ----------
    dim
        Width of the encoded table (``TabularEncoder.output_dim_``).
    cond_cardinalities
        Number of levels of each cell component (condition columns, then target).
    hidden, depth
        Width and number of residual blocks.
    dropout
        Dropout inside the blocks (0 keeps training deterministic without seeding
        global state).
    timesteps
        Length of the chain, when known: a training batch larger than it then runs the
        time MLP once per timestep of the chain rather than once per row (same result,
        less work). Setting :attr:`share_time_mlp` to false turns such sharing off
        (per-row gradients, for differentially private training, need one run per row).
    """

    def __init__(
        self,
        dim: int,
        cond_cardinalities: Sequence[int],
        *,
        hidden: int = 256,
        depth: int = 4,
        dropout: float = 0.0,
        timesteps: int | None = None,
    ) -> None:
        super().__init__()
        self.dim = int(dim)
        self.timesteps = timesteps
        self.share_time_mlp = True
        self.cond_cardinalities = [int(c) for c in cond_cardinalities]
        self.hidden = int(hidden)
        self.depth = int(depth)
        self.inp = nn.Linear(self.dim, hidden)
        self.time_mlp = nn.Sequential(
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )
        # one extra row per component: the learned null token used for guidance
        self.cond_emb = nn.ModuleList(nn.Embedding(c + 1, hidden) for c in self.cond_cardinalities)
        self.emb_act = nn.SiLU()
        self.blocks = nn.ModuleList(_Block(hidden, dropout) for _ in range(depth))
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, self.dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def null_condition(self, batch: int, device: torch.device) -> torch.Tensor:
        """The all-null condition (for unconditional predictions)."""
        nulls = torch.tensor(self.cond_cardinalities, dtype=torch.long, device=device)
        return nulls.unsqueeze(0).expand(batch, -1)

    def time_embedding(self, t: torch.Tensor) -> torch.Tensor:
        """The time MLP of each row's timestep; run once when all rows share one.

        While sampling every row is at the same timestep, and the MLP costs as much as
        a residual block per row: computing it once saves a fifth of the work. A
        training batch of more rows than the chain has timesteps runs it on the chain.
        """
        if not self.share_time_mlp:
            return self.time_mlp(timestep_embedding(t, self.hidden))
        if self.timesteps is not None and t.numel() > self.timesteps:
            every = torch.arange(self.timesteps, device=t.device)
            return self.time_mlp(timestep_embedding(every, self.hidden))[t]
        if t.device.type == "cpu" and t.numel() > 1 and bool((t == t[0]).all()):
            return self.time_mlp(timestep_embedding(t[:1], self.hidden)).expand(t.shape[0], -1)
        return self.time_mlp(timestep_embedding(t, self.hidden))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        emb = self.time_embedding(t)
        for i, table in enumerate(self.cond_emb):
            emb = emb + table(cond[:, i])
        emb = self.emb_act(emb)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(self.out_norm(h))
