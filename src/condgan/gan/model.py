"""The LightningModule: training logic for any conditional GAN; networks, loss and tricks are injected."""

import copy
from collections.abc import Callable, Mapping

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.optim.swa_utils import AveragedModel

from condgan.gan.augment import DiffAugment
from condgan.gan.losses import GANLoss
from condgan.gan.mixture import MAX_MEMBERS, GeneratorMixture, with_picks
from condgan.gan.penalties import DiscriminatorBatch, GeneratorBatch, Penalty
from condgan.gan.schedules import DECAYS, budget_batches, lr_schedulers, ramp

PROGRESS_BAR = ("train/g_loss", "train/d_loss")
BATCHES_TRAINED = "condgan_batches_trained"  # checkpoint key: ConditionalGAN.batches_trained
PENALTY_STATE = "condgan_penalty_state"  # checkpoint key: {penalty name: its state}, for penalties that keep one
OptimizerFactory = Callable[..., torch.optim.Optimizer]  # e.g. functools.partial(torch.optim.Adam, lr=2e-4)
# Layers whose output for one image depends on the rest of its batch or on random draws
BATCH_OR_RANDOM_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)


def scores_each_image_alone(net: nn.Module) -> bool:
    """True when ``net``'s output for an image does not depend on what else is in its batch or on random draws
    (no BatchNorm, no dropout, no layer marked ``mixes_batch`` such as minibatch standard deviation, no
    parametrization such as spectral norm, whose power iteration steps once per call): then one call on two
    batches stacked gives the same outputs as two calls."""
    return not any(
        isinstance(m, BATCH_OR_RANDOM_LAYERS) or getattr(m, "mixes_batch", False) or parametrize.is_parametrized(m)
        for m in net.modules()
    )


class EMAWithWarmup:
    """An ``AveragedModel`` update: EMA whose decay ramps up as min(decay, (1 + n) / (warmup + n)) over n updates.

    A plain 0.999 EMA still weighs the random initial weights by 0.999^n: 42% after a first MNIST epoch
    (860 steps), which shows as grey blur in early samples and skews early FIDs and best-checkpoint choice.
    Until the ramp reaches ``decay`` (n ≈ 9,000 for 0.999 and warmup 10), the average's half-life is about
    n·ln 2 / (warmup − 1) updates: a fixed share of the run (7.7% at 10, 3.5% at 21), so ``warmup`` sets
    how far back the average reaches, the larger the shorter.
    A class rather than a closure, so the model pickles (``strategy=ddp_spawn`` sends it to its processes).
    """

    def __init__(self, decay: float, warmup: float = 10.0):
        if warmup <= 1:
            raise ValueError(f"model.ema_warmup must be > 1, got {warmup}")
        self.decay, self.warmup = decay, warmup

    @torch.no_grad()
    def __call__(self, ema_params: list[torch.Tensor], params: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = float(num_averaged)
        weight = 1 - min(self.decay, (1 + n) / (self.warmup + n))
        for ema, new in zip(ema_params, params, strict=True):
            if ema.is_floating_point():
                ema.lerp_(new, weight)
            else:  # AveragedModel groups tensors by dtype: BatchNorm's counters are copied
                ema.copy_(new)


class ConditionalGAN(L.LightningModule):
    """Alternating D/G updates with Lightning 2 manual optimization (as in Lightning's GAN example).

    ``generator(noise (B, Z), labels (B,)) -> images (B, C, H, W)``;
    ``discriminator(images, labels) -> scores (B,)``, or ``(scores, class_logits (B, K))`` for AC-GAN heads.

    Tricks, all off by default: ``d_steps_per_g`` (n_critic: D steps per G step), ``penalties`` (named
    ``condgan.gan.penalties.Penalty`` objects, each with its weight and interval: R1, WGAN-GP, bCR, LeCam on D, mode
    seeking on G), ``aux_weight`` (AC-GAN class loss, used when D returns logits; ``aux_weight_end``: moved
    linearly to this weight over the budget; ``aux_fake_push``: how hard an ADC-GAN head pushes G's fakes from
    "a fake of k", 1 ADC-GAN's, 0 AC-GAN's; ``twin_classifier``: the 2K logits read as TAC-GAN's two heads),
    ``ema_decay`` (an exponential moving average of G, used for sampling, validation and export; ``ema_warmup``
    sets its ramp, ``EMAWithWarmup``), ``snapshots`` (K copies of that generator taken evenly over the budget,
    sampled with the last one as a ``GeneratorMixture``), ``augment`` (DiffAugment on everything D sees),
    ``lr_decay`` (``"linear"`` or ``"cosine"``: both learning rates fall to 0 over the fixed budget) and
    ``lr_warmup`` (both rise from 0 over this many batches), ``condgan.gan.schedules``.
    Speed switches, off by default: ``channels_last`` (NHWC tensors for conv nets on GPU), ``compile``
    (``torch.compile`` of G and D in place, so checkpoint keys do not change).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: GANLoss,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        d_steps_per_g: int = 1,
        penalties: Mapping[str, Penalty] | None = None,
        aux_weight: float = 1.0,
        aux_weight_end: float | None = None,
        aux_fake_push: float = 1.0,
        twin_classifier: bool = False,
        ema_decay: float | None = None,
        ema_warmup: float = 10.0,
        snapshots: int = 0,
        augment: DiffAugment | None = None,
        lr_decay: str | None = None,
        lr_warmup: int = 0,
        channels_last: bool = False,
        compile: bool = False,
    ):
        super().__init__()
        if d_steps_per_g < 1:
            raise ValueError(f"d_steps_per_g must be >= 1, got {d_steps_per_g}")
        if lr_decay is not None and lr_decay not in DECAYS:
            raise ValueError(f"model.lr_decay must be one of {', '.join(DECAYS)} or null, got {lr_decay!r}")
        if not isinstance(lr_warmup, int) or lr_warmup < 0:
            raise ValueError(f"model.lr_warmup must be a whole number of batches >= 0, got {lr_warmup!r}")
        self.lr_decay, self.lr_warmup = lr_decay, lr_warmup
        self.automatic_optimization = False  # two optimizers, stepped by hand
        self.generator, self.discriminator, self.loss = generator, discriminator, loss
        self.optimizer_g, self.optimizer_d = optimizer_g, optimizer_d
        self.d_steps_per_g, self.aux_weight = d_steps_per_g, aux_weight
        self.penalties = [penalty for penalty in (penalties or {}).values() if penalty is not None]
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"model.ema_decay must be between 0 and 1 (e.g. 0.999) or null, got {ema_decay}")
        if not 0.0 <= aux_fake_push <= 1.0:
            raise ValueError(f"model.aux_fake_push must be between 0 (AC-GAN) and 1 (ADC-GAN), got {aux_fake_push}")
        if twin_classifier and not getattr(discriminator, "aux_fake_classes", False):
            raise ValueError(
                "model.twin_classifier needs model.discriminator.aux_classifier=true and "
                "model.discriminator.aux_fake_classes=true: its second K class logits are the twin head"
            )
        self.aux_fake_push, self.aux_weight_end, self.twin_classifier = aux_fake_push, aux_weight_end, twin_classifier
        self.budget = 0  # training batches of the fit, known once the trainer has its data (configure_optimizers)
        self.augment, self.channels_last, self.compile_networks = augment, channels_last, compile
        self.generator_ema = None
        if ema_decay:
            self.generator_ema = AveragedModel(
                generator, multi_avg_fn=EMAWithWarmup(ema_decay, ema_warmup), use_buffers=True
            )
            self.generator_ema.requires_grad_(False)
        if not isinstance(snapshots, int) or not 0 <= snapshots < MAX_MEMBERS:
            raise ValueError(f"model.snapshots must be a whole number from 0 to {MAX_MEMBERS - 1}, got {snapshots!r}")
        self.snapshots, self._snapshots_taken = snapshots, None  # the buffer's count, read once per fit
        if snapshots:  # filled in training (take_snapshot); their weights travel in the checkpoint
            self.generator_snapshots = nn.ModuleList(copy.deepcopy(generator) for _ in range(snapshots))
            self.generator_snapshots.requires_grad_(False)
            self.register_buffer("snapshots_taken", torch.zeros((), dtype=torch.long))
        # D on reals and fakes in one call where that changes nothing: the DCGAN D (the default's), not the
        # assignment's MLP (dropout) nor SN-ResNets (spectral norm); DiffAugment's draws would change too
        self.joint_real_fake_pass = scores_each_image_alone(discriminator) and augment is None
        self.latent_dim: int = generator.latent_dim
        self.num_classes: int = generator.num_classes
        self.batches_trained = 0  # training steps run over the whole fit, resumes included: Lightning's logging step

    @property
    def final_generator(self) -> nn.Module:
        """The generator as trained so far: the EMA copy when there is one."""
        return self.generator if self.generator_ema is None else self.generator_ema.module

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator to draw samples from: ``final_generator``, with the snapshots taken so far beside it."""
        taken = int(self.snapshots_taken) if self.snapshots else 0
        if not taken:
            return self.final_generator
        return GeneratorMixture([*self.generator_snapshots[:taken], self.final_generator])

    def take_snapshot(self) -> None:
        """Copy ``final_generator`` into the next snapshot once training reaches its share of the budget: snapshot k
        (0-based) at batch ⌈budget · (k + 1) / (snapshots + 1)⌉, so the K + 1 members are evenly spaced."""
        if self._snapshots_taken is None:  # reading the buffer every batch would wait for a GPU every batch
            self._snapshots_taken = int(self.snapshots_taken)
        while (taken := self._snapshots_taken) < self.snapshots and (
            self.batches_trained * (self.snapshots + 1) >= self.budget * (taken + 1)  # more than one: a tiny budget
        ):
            self.generator_snapshots[taken].load_state_dict(self.final_generator.state_dict())
            self.snapshots_taken += 1
            self._snapshots_taken += 1

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.sampling_generator(noise, labels)

    def discriminate(
        self, images: torch.Tensor, labels: torch.Tensor, augment: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D on (augmented, in training) images → (scores (B,), class logits (B, K) or None)."""
        out = self.discriminator(self.augment(images) if augment and self.augment else images, labels)
        return out if isinstance(out, tuple) else (out, None)

    def discriminate_pair(
        self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, augment: bool = True
    ) -> tuple[tuple[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor | None]]:
        """D on reals and on fakes of the same labels → (scores, logits) of each. One call on the 2B images
        where ``joint_real_fake_pass`` (same outputs, fewer and larger kernels: ~7% less time a batch on CPU)."""
        if not self.joint_real_fake_pass:
            return self.discriminate(real, labels, augment), self.discriminate(fake, labels, augment)
        scores, logits = self.discriminate(torch.cat([real, fake]), torch.cat([labels, labels]), augment)
        real_logits, fake_logits = (None, None) if logits is None else logits.chunk(2)
        real_scores, fake_scores = scores.chunk(2)
        return (real_scores, real_logits), (fake_scores, fake_logits)

    def score(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.discriminate(images, labels)[0]

    def configure_model(self) -> None:
        """Called by every trainer entry point (fit, test, ...): apply the speed switches once."""
        if getattr(self, "_speed_switches_applied", False):
            return
        self._speed_switches_applied = True
        for net in (self.generator, self.discriminator):
            if self.channels_last:
                net.to(memory_format=torch.channels_last)
            if self.compile_networks:
                net.compile()
        if self.channels_last and self.generator_ema is not None:  # it draws the samples of every epoch's metrics
            self.generator_ema.to(memory_format=torch.channels_last)
        if self.channels_last and self.snapshots:
            self.generator_snapshots.to(memory_format=torch.channels_last)

    def _layout(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def on_fit_start(self) -> None:
        self._snapshots_taken = None  # a resumed fit has loaded its count into the buffer by now
        datamodule = self.trainer.datamodule
        expected = getattr(datamodule, "image_shape", None)
        if expected is not None and tuple(expected) != tuple(self.generator.image_shape):
            raise ValueError(
                f"The generator makes images of shape {tuple(self.generator.image_shape)} but the data are "
                f"{tuple(expected)}: set model.generator.image_shape (and the discriminator's) to match."
            )
        if getattr(datamodule, "num_classes", self.num_classes) != self.num_classes:
            raise ValueError(
                f"The model has {self.num_classes} classes but the data have {datamodule.num_classes}: "
                "set model.generator.num_classes and model.discriminator.num_classes to match."
            )

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, labels = batch  # (B, C, H, W) in [-1, 1], (B,)
        real = self._layout(real)
        opt_g, opt_d = self.optimizers()
        # Fakes are drawn for the real batch's labels: both halves of D's batch share one label distribution,
        # and WGAN-GP interpolates pairs of the same label.
        g_step = (batch_idx + 1) % self.d_steps_per_g == 0
        noise = torch.randn(len(real), self.latent_dim, device=self.device)
        with torch.set_grad_enabled(g_step):  # without a G step, the graph through G is never used
            fake = self.generator(noise, labels)

        self.toggle_optimizer(opt_d)
        d_loss, logs = self._discriminator_loss(real, fake.detach(), labels)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        if g_step:  # against the freshly updated D, whose parameters the toggle freezes
            self.toggle_optimizer(opt_g)
            g_loss, g_logs = self._generator_loss(fake, labels, noise)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            opt_g.step()
            self.untoggle_optimizer(opt_g)
            if self.generator_ema is not None:
                self.generator_ema.update_parameters(self.generator)
            logs.update(g_logs)
        for scheduler in self.lr_schedulers() or []:  # once per batch, so G and D decay alike
            scheduler.step()
        self.batches_trained += 1
        if self.snapshots:
            self.take_snapshot()
        self._log_train_step(logs)

    def _log_train_step(self, logs: dict[str, torch.Tensor]) -> None:
        """``self.log`` costs about 1 ms a call on CPU (a sixth of an MLP step), so pay it only on the steps
        whose values the loggers record: every ``trainer.log_every_n_steps``-th batch, and the last one."""
        every, trainer = self.trainer.log_every_n_steps, self.trainer
        if not (trainer.fast_dev_run or trainer.should_stop or (every and self.batches_trained % every == 0)):
            return
        self.log_dict({k: v for k, v in logs.items() if k in PROGRESS_BAR}, prog_bar=True)
        self.log_dict({k: v for k, v in logs.items() if k not in PROGRESS_BAR})

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[BATCHES_TRAINED] = self.batches_trained
        checkpoint[PENALTY_STATE] = {p.name: p.state_dict() for p in self.penalties if hasattr(p, "state_dict")}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """A resumed run logs on the same steps as the run it continues (its loggers continue their files)."""
        if BATCHES_TRAINED in checkpoint:
            self.batches_trained = checkpoint[BATCHES_TRAINED]
        else:  # written before condgan kept its own count: Lightning's count of batches processed is the same
            loops = checkpoint.get("loops") or {}
            progress = loops.get("fit_loop", {}).get("epoch_loop.batch_progress", {})
            self.batches_trained = progress.get("total", {}).get("processed", 0)
        saved = checkpoint.get(PENALTY_STATE) or {}
        for penalty in self.penalties:  # a penalty the saved run did not have starts afresh
            if hasattr(penalty, "load_state_dict") and penalty.name in saved:
                penalty.load_state_dict(saved[penalty.name])

    def _discriminator_loss(
        self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        (d_real, real_logits), (d_fake, fake_logits) = self.discriminate_pair(real, fake, labels)
        loss = self.loss.discriminator(d_real, d_fake)
        logs = {"train/d_loss": loss, "train/d_real": d_real.mean(), "train/d_fake": d_fake.mean()}
        if real_logits is not None:
            logs["train/d_aux"] = self._class_loss_d(real_logits, fake_logits, labels)
            loss = loss + self.class_loss_weight() * logs["train/d_aux"]
        batch = DiscriminatorBatch(self.score, real, fake, labels, d_real, d_fake)
        loss = self._add_penalties("discriminator", batch, loss, logs)
        return loss, {k: v.detach() for k, v in logs.items()}

    def _add_penalties(
        self, network: str, batch: DiscriminatorBatch | GeneratorBatch, loss: torch.Tensor, logs: dict
    ) -> torch.Tensor:
        """``loss`` plus every penalty on ``network`` that is due this batch, each logged as ``train/<name>``."""
        for penalty in self.penalties:
            if penalty.network == network and penalty.due(self.batches_trained):
                # Eager under model.compile: R1 and WGAN-GP differentiate through D twice, which compiled graphs
                # refuse (their backward frees its buffers); the loss's own backward stays compiled.
                with torch.compiler.set_stance("force_eager"):
                    logs[f"train/{penalty.name}"] = penalty(batch)
                loss = loss + penalty.scaled(logs[f"train/{penalty.name}"])
        return loss

    def _generator_loss(
        self, fake: torch.Tensor, labels: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        scores, logits = self.discriminate(fake, labels)
        loss = self.loss.generator(scores)
        logs = {"train/g_loss": loss}
        if logits is not None:
            logs["train/g_aux"] = self._class_loss_g(logits, labels)
            loss = loss + self.class_loss_weight() * logs["train/g_aux"]
        loss = self._add_penalties("generator", GeneratorBatch(noise, fake, labels), loss, logs)
        return loss, {k: v.detach() for k, v in logs.items()}

    def class_loss_weight(self) -> float:
        """``aux_weight``, or on its way to ``aux_weight_end`` over the budget."""
        if self.aux_weight_end is None:
            return self.aux_weight
        return ramp(self.aux_weight, self.aux_weight_end, self.batches_trained, self.budget)

    def _class_loss_d(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """D's class head on reals and fakes of ``labels``. AC-GAN (K logits): both named by their label.
        ADC-GAN (2K logits): a fake of class k is class K + k, so the head tells them apart from reals.
        TAC-GAN (2K logits, ``twin_classifier``): the first K classify reals only, the twin K fakes only."""
        k = self.num_classes
        if self.twin_classifier:  # the constructor made sure D gives 2K logits
            return (F.cross_entropy(real_logits[:, :k], labels) + F.cross_entropy(fake_logits[:, k:], labels)) / 2
        if real_logits.shape[1] == 2 * k:
            return (F.cross_entropy(real_logits, labels) + F.cross_entropy(fake_logits, labels + self.num_classes)) / 2
        return (F.cross_entropy(real_logits, labels) + F.cross_entropy(fake_logits, labels)) / 2

    def _class_loss_g(self, fake_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """G's: look like a real k to D's class head. AC-GAN's pulls fakes to where k is easiest to name (class
        prototypes, low recall); ADC-GAN's also pushes them from "a fake of k", whose optimum matches the data.
        ``aux_fake_push`` below 1 weakens the push: between the two, more label accuracy for less recall.
        TAC-GAN's (``twin_classifier``): be named k by the real head, and not by the twin trained on fakes."""
        k = self.num_classes
        if self.twin_classifier:
            twin = F.cross_entropy(fake_logits[:, k:], labels)
            return F.cross_entropy(fake_logits[:, :k], labels) - self.aux_fake_push * twin
        if fake_logits.shape[1] == 2 * k:
            push = F.cross_entropy(fake_logits, labels + k)
            return F.cross_entropy(fake_logits, labels) - self.aux_fake_push * push
        return F.cross_entropy(fake_logits, labels)

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int, stage: str) -> None:
        """Both losses on held-out reals and on fakes of the same labels (no augmentation), epoch means."""
        real, labels = batch
        real = self._layout(real)
        generator = self.sampling_generator
        noise = torch.randn(len(real), self.latent_dim, device=self.device)  # (B, Z): training's stream
        fake = generator(with_picks(noise, generator.latent_dim - self.latent_dim, seed=batch_idx), labels)
        (d_real, _), (d_fake, _) = self.discriminate_pair(real, fake, labels, augment=False)
        metrics = {
            "g_loss": self.loss.generator(d_fake),
            "d_loss": self.loss.discriminator(d_real, d_fake),
            "d_real": d_real.mean(),
            "d_fake": d_fake.mean(),
        }
        self.log_dict({f"{stage}/{k}": v for k, v in metrics.items()}, on_epoch=True, sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    def configure_optimizers(self):
        # Order matters: training_step unpacks (opt_g, opt_d).
        optimizers = [self.optimizer_g(self.generator.parameters()), self.optimizer_d(self.discriminator.parameters())]
        needs = {
            "model.lr_decay": self.lr_decay is not None,
            "model.aux_weight_end": self.aux_weight_end is not None,
            "model.snapshots": bool(self.snapshots),
        }
        if needed_by := next((name for name, needed in needs.items() if needed), None):
            self.budget = budget_batches(self.trainer, self.d_steps_per_g, needed_by)
        if self.lr_decay is None and not self.lr_warmup:
            return optimizers
        return optimizers, lr_schedulers(optimizers, self.lr_decay, self.lr_warmup, self.budget)
