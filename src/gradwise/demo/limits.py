"""The bounds on everything a page may ask of the demo server, in one place.

A page is untrusted input: each number here caps the work or memory one message, one tab
or the whole server can cost, so that no message (or many tabs) can stall or exhaust it.
"""

#: The largest WebSocket message a page may send, in bytes (a full set of points is ~10 KB).
MAX_MESSAGE_BYTES = 64 * 1024

#: Messages waiting to be sent to one tab.
MAX_QUEUED = 64

#: Tabs served at once; the next one is refused until a tab closes (its state is dropped).
MAX_SESSIONS = 16

#: Image trainings running at once over all tabs (each holds a copy of the features).
MAX_TRAININGS = 2

#: View 1: the plane the points live on, x and y in [-PLANE_EXTENT, PLANE_EXTENT].
PLANE_EXTENT = 3.0
#: View 1: classes of points (the palette has a colour for each) and points in all (each
#: point's own loss is one call of the loss a step, which keeps a step well under 20 ms).
MIN_CLASSES, MAX_CLASSES = 3, 6
MAX_POINTS = 60
MAX_POINTS_PER_CLASS = MAX_POINTS // MIN_CLASSES
#: View 1: the largest |W| or |b| entry a page may set (a line's slope and offset).
MAX_WEIGHT = 100.0
#: View 1: the background's winning class is computed on this many cells a side.
PLANE_GRID = 64

#: Steps one request may take (view 1 and view 2).
MAX_STEPS = 200

#: Learning rates and step sizes a page may set.
MIN_LR, MAX_LR = 1e-7, 10.0
#: The L2 strength lam of view 1 and view 3.
MAX_REG = 10.0

#: View 2: optimizers racing at once, options given to one, and the largest option value.
MAX_RACERS = 8
MAX_OPTIONS = 6
MAX_OPTION_VALUE = 1e6
#: View 2: the surface's background is an image of this many pixels a side.
SURFACE_PIXELS = 240

#: View 3: epochs of one training, rows per minibatch, and updates of the curves a second
#: (an update is also sent at every epoch's end, whatever this says).
MAX_EPOCHS = 100
MAX_BATCH = 4096
STEP_UPDATES_PER_SECOND = 8
