"""Tuning gradient-descent step sizes by differentiating through unrolled descent.

Task 2 of the homework: f(x) = ½‖x‖², x0 ~ U[0, 1]^dim, T gradient steps with step
sizes α ∈ R^T; L(α) = f(x_T). The package computes L and ∂L/∂α (reverse mode, forward
mode, closed form), runs meta gradient descent on α, certifies the result and compares
learned schedules with classical ones on ill-conditioned quadratics.

Modules: problem (f, x0, the unrolled loss), closed_form (the float64 witness),
hypergrad (∂L/∂α by AD and finite differences), meta_gd (jitted meta-GD), certify
(gradient, Hessian spectrum, perturbations, lower bound), beta_sweep (β and the
stability limit), quadratic (½xᵀAx schedules, CG), config, run (the runner behind
scripts/run_lr_meta.py), plots.
Long horizons (issue #11): schedule (T steps from K log-step knots), unroll (long
descent; reverse, checkpointed and forward hypergradients), horizon (their time and
memory against T), logistic (a non-quadratic training problem), training (tuning on
training draws, judged on held-out ones), studies (the runner of both studies),
plots_studies.

The names below load on first use, so `import lr_meta.config` imports neither JAX nor
matplotlib.
"""

from secondorder.lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(
    __name__, {"problem": ("draw_alpha0", "draw_x0", "sphere", "unrolled_loss", "unrolled_loss_scan")})
