#!/usr/bin/env python3
"""Makes programs/data/readings.npy, the input of programs/sensors.vec: 4096 readings of a sensor (a
slow cycle, a faster wobble, four spikes) as a 1-D little-endian float32 array, written by numpy.save.
The committed file was made with numpy 2.4.6: python3 programs/data/make_readings.py (from the
repository root)."""
import os

import numpy as np

t = np.arange(4096, dtype=np.float64)
x = 20.0 + 5.0 * np.sin(t * 2 * np.pi / 512) + 0.5 * np.sin(t * 0.37)
x[[300, 1500, 2222, 3900]] += [25.0, -30.0, 40.0, 28.0]
np.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "readings.npy"), x.astype("<f4"))
