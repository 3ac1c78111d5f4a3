"""Integer codes shared by the kernels and the Python layers above them.

Kernels take small integers instead of strings or functions so that they stay
cacheable (``cache=True``) and compile once.
"""

# hidden-layer activations
TANH = 0
RECTIFIER = 1
MAXOUT = 2

ACTIVATIONS = {"tanh": TANH, "rectifier": RECTIFIER, "maxout": MAXOUT}

# output distributions (classification always uses a softmax output)
SOFTMAX = 0
GAUSSIAN = 1
LAPLACE = 2
QUANTILE = 3
HUBER = 4
POISSON = 5
GAMMA = 6
TWEEDIE = 7

DISTRIBUTIONS = {
    "bernoulli": SOFTMAX,
    "multinomial": SOFTMAX,
    "gaussian": GAUSSIAN,
    "laplace": LAPLACE,
    "quantile": QUANTILE,
    "huber": HUBER,
    "poisson": POISSON,
    "gamma": GAMMA,
    "tweedie": TWEEDIE,
}

LOG_LINK = (POISSON, GAMMA, TWEEDIE)

# classification losses
CROSS_ENTROPY = 0
QUADRATIC = 1

# indices into the float64 hyper-parameter vector ``hp``
HP_RHO = 0
HP_EPS = 1
HP_RATE = 2
HP_RATE_ANNEALING = 3
HP_RATE_DECAY = 4
HP_MOM_START = 5
HP_MOM_RAMP = 6
HP_MOM_STABLE = 7
HP_L1 = 8
HP_L2 = 9
HP_MAX_W2 = 10
HP_INPUT_DROPOUT = 11
HP_QUANTILE_ALPHA = 12
HP_TWEEDIE_POWER = 13
HP_SAMPLES = 14  # samples processed before this call (global), for rate annealing and momentum
HP_HUBER_DELTA = 15
HP_SPARSITY_BETA = 16  # sparse autoencoder (spec 4.5)
HP_AVG_ACTIVATION = 17
HP_EA_LAMBDA = 18  # elastic averaging: gradient += lambda * (w - consensus w) (spec 5.5)
HP_SIZE = 19

# indices into the int64 option vector ``ip``
IP_ACT = 0
IP_DIST = 1
IP_LOSS = 2
IP_ADAPTIVE = 3
IP_NESTEROV = 4
IP_FAST_MODE = 5
IP_DROPOUT = 6  # 1 for *WithDropout activations
IP_AUTOENCODER = 7
IP_NUM_OFFSET = 8
IP_MOMENTUM = 9  # 1 when a momentum buffer exists (manual rate with momentum_start/stable != 0)
IP_HAS_MAXW2 = 10
IP_SPARSE = 11  # 1 for a sparse autoencoder: running mean activations drive the hidden biases
IP_SIZE = 12
