"""How the shipped models are made: simulated operators, their ground truth, a fixed recipe.

The analytics only load and apply models (:mod:`qalqan.analytics.models`); this
package is the one part of Qalqan outside the CLI that runs the simulator, so
that nothing a node or ``qalqan analyze`` runs on real data depends on it.

- :mod:`qalqan.training.frames`: one simulated operator's features and labels.
- :mod:`qalqan.training.recipe`: the operators the models learn from, and the fit.
- :mod:`qalqan.training.cache`: where trained models are kept, trained on first use.
"""
