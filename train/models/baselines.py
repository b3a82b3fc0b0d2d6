"""The paper's comparison architectures (Tables 1 and 2), registered by importing their modules.

``unet`` (U-Net-224), ``unet-vgg19``, ``unet-resnet50``, ``segnet`` (max-unpooling from pooling
indices, builtin ops), ``fcn`` (FCN-8s). All take the shared [-1, 1] RGB input and return a sigmoid
(N, H, W, 1) mask; see each module for the architecture and its departures from the original.
"""

from __future__ import annotations

from munet.train.models import fcn, resnet_unet, segnet, unet, vgg_unet  # noqa: F401  (registration)

#: Names registered here, in the paper's table order.
BASELINES = ("unet-vgg19", "segnet", "unet-resnet50", "fcn", "unet")
