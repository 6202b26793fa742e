"""The learning stack around the layer: network layers, optimisers, models, tasks, training.

Nothing in the layer package (``attnrnn_np`` outside this folder) imports
from here; this package imports the layer's math and is the only place that
touches files, plots and the host's random numbers for training.

- :mod:`~attnrnn_np.learn.layers`: conv2d, ReLU, linear, softmax cross-entropy
- :mod:`~attnrnn_np.learn.optim`: SGD with momentum and Adam
- :mod:`~attnrnn_np.learn.models`: the six models on one trunk
- :mod:`~attnrnn_np.learn.tasks`: offline MREF / MDIST / MBG generators, built from
  :mod:`~attnrnn_np.learn.digits` (digits, photographs, resampling), :mod:`~attnrnn_np.learn.canvas`
  (palette, placement, compositing, clutter) and :mod:`~attnrnn_np.learn.cache` (the `.npz` task cache)
- :mod:`~attnrnn_np.learn.train`: training runs with atomic checkpoints
- :mod:`~attnrnn_np.learn.metrics`: accuracy and attention correctness
- :mod:`~attnrnn_np.learn.figures`: masks over images
- :mod:`~attnrnn_np.learn.safe_npz`: atomic ``.npz`` writes and pickle-free reads
- :mod:`~attnrnn_np.learn.experiment`: the demo and the experiment table
"""
