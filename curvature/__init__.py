"""curvature: two studies of the curvature estimators of `secondorder`, each against the exact answer.

- The task's MLP at depth (config `study = "task"`): trace, diagonal, extreme eigenvalues
  and spectral density of its Hessian from HVPs, checked against the dense Hessian at
  one depth, and what each route costs over depth (problem, study, cost, batching,
  summary, analysis, plots, headlines; blocks: what vmapped blocks buy there).
- A classifier trained on real digits (`study = "trained"`): its Hessian and
  Gauss-Newton matrix at checkpoints along training (digits, classifier, training,
  trained_study, trained_summary, trained_plots).

Both use the library's operators and estimators (secondorder.operators, lanczos, trace,
diagonal, density, wasserstein); shared here are the exact reference (exact), the
repeated estimates (repetitions) and how a route is compiled (routes). No module of this
package implements an estimator.

Importing the package (or `curvature.config`) imports no JAX.
"""
