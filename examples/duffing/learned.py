"""The forced Duffing oscillator (spec.py) with the friction left for the model to learn.

The same system, with `learn_dissipation=True`: the data come from the true friction
R = delta/2 xdot^2 and drive gamma cos(omega t); the model learns L and its own friction
(`sn.RayleighDissipation`, basis `xdot_sq`) with the drive known (`sn.DrivingForce`).
`train.py` here learns it from `make_data.py`'s data.
"""

import dataclasses
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("duffing_spec", Path(__file__).with_name("spec.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

system = dataclasses.replace(_module.system, name="duffing_learned", learn_dissipation=True)
