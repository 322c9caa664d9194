"""Disentanglement metrics and the evaluation of a representation.

One metric per module, each with a *sampling* function ``(dataset, encode, *,
random_state=0, **settings) -> dict`` (``"score"`` plus the metric's other outputs) and
*pure* functions on arrays (``*_from_codes``) that the tests check exactly:

==============  ====================================  ==========================================
name            sampling function                     paper
==============  ====================================  ==========================================
``beta_vae``    :func:`beta_vae_score`                Higgins et al. 2017
``factor_vae``  :func:`factor_vae_score`              Kim & Mnih 2018
``mig``         :func:`mig`                           Chen et al. 2018
``dci``         :func:`dci`                           Eastwood & Williams 2018
``sap``         :func:`sap_score`                     Kumar et al. 2018
``modularity``  :func:`modularity_explicitness`       Ridgeway & Mozer 2018
``irs``         :func:`irs`                           Suter et al. 2019
``unsupervised`` :func:`unsupervised`                 Locatello et al. 2019 (disentanglement_lib)
``dci_es``      :func:`dci_es`                        Eastwood et al. 2023
``infomec``     :func:`infomec`                       Hsu et al. 2023
``downstream_lr`` :func:`downstream_lr`              Locatello et al. 2019 (downstream task, LR)
``downstream_gbt`` :func:`downstream_gbt`            Locatello et al. 2019 (downstream task, GBT)
``reduced_downstream`` :mod:`~disbench.metrics.reduced_downstream`  disentanglement_lib (reduced downstream task)
``strong_downstream`` :mod:`~disbench.metrics.strong_downstream`  disentanglement_lib (strong generalisation)
``fairness``    :func:`fairness`                      Locatello et al. 2019 (NeurIPS), unfairness
``unified``     :func:`unified`                       disentanglement_lib (DCI/MIG/SAP/modularity of 3 matrices)
``udr``         :func:`disbench.metrics.udr.udr`      Duan et al. 2020 (a group of runs)
``fid``/``kid``  :mod:`disbench.metrics.generated`     Heusel et al. 2017 / Bińkowski et al. 2018
==============  ====================================  ==========================================

Each sampling function declares its presets with :func:`disbench.metrics.spec.metric`
(``default`` = its keyword defaults, ``quick`` = the CPU sizes). :func:`evaluate` runs
several with one shared code cache; :func:`evaluate_run` scores a trained run directory
and writes its ``metrics.json``.

A new metric is one module here, its sampling function decorated with
``@metric("<name>", quick={...})``, plus its module name in
:data:`disbench.metrics.evaluate.METRIC_MODULES` (one line).
"""

from disbench.metrics.beta_vae import beta_vae_from_features, beta_vae_score
from disbench.metrics.codes import CodeCache, as_encoder
from disbench.metrics.dci import dci, dci_from_codes, dci_from_importance
from disbench.metrics.dci_es import dci_es, dci_es_from_codes, explicitness_from_curve
from disbench.metrics.downstream import downstream_gbt, downstream_lr, downstream_task_from_codes
from disbench.metrics.evaluate import ALL_METRICS, METRICS, PRESETS, default_metrics, evaluate, evaluate_run
from disbench.metrics.factor_vae import factor_vae_from_variances, factor_vae_score
from disbench.metrics.fairness import fairness, fairness_from_codes, inter_group_fairness
from disbench.metrics.infomec import infomec, infomec_from_codes
from disbench.metrics.irs import irs, irs_from_codes
from disbench.metrics.mig import mig, mig_from_codes
from disbench.metrics.modularity import (
    modularity_explicitness,
    modularity_explicitness_from_codes,
    modularity_from_mutual_information,
)
from disbench.metrics.reduced_downstream import reduced_downstream, reduced_downstream_task_from_codes
from disbench.metrics.sap import sap_from_codes, sap_from_score_matrix, sap_score
from disbench.metrics.strong_downstream import strong_downstream, strong_downstream_task_from_codes
from disbench.metrics.udr import udr, udr_from_codes, udr_of_runs
from disbench.metrics.unified import unified, unified_from_matrix, unified_scores_from_codes
from disbench.metrics.unsupervised import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    unsupervised,
    unsupervised_from_codes,
)

__all__ = [
    "ALL_METRICS",
    "METRICS",
    "PRESETS",
    "as_encoder",
    "beta_vae_from_features",
    "beta_vae_score",
    "CodeCache",
    "dci",
    "dci_es",
    "dci_es_from_codes",
    "dci_from_codes",
    "dci_from_importance",
    "default_metrics",
    "downstream_gbt",
    "downstream_lr",
    "downstream_task_from_codes",
    "evaluate",
    "evaluate_run",
    "explicitness_from_curve",
    "factor_vae_from_variances",
    "fairness",
    "fairness_from_codes",
    "factor_vae_score",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "infomec",
    "inter_group_fairness",
    "infomec_from_codes",
    "irs",
    "irs_from_codes",
    "mig",
    "mig_from_codes",
    "modularity_explicitness",
    "modularity_explicitness_from_codes",
    "modularity_from_mutual_information",
    "reduced_downstream",
    "reduced_downstream_task_from_codes",
    "sap_from_codes",
    "sap_from_score_matrix",
    "sap_score",
    "strong_downstream",
    "strong_downstream_task_from_codes",
    "udr",
    "udr_from_codes",
    "udr_of_runs",
    "unified",
    "unified_from_matrix",
    "unified_scores_from_codes",
    "unsupervised",
    "unsupervised_from_codes",
]
