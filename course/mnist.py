"""What every room knows of MNIST before reading it: the mean and standard deviation of its pixels."""

MNIST_MEAN = 0.1307  # of the training set's pixels, scaled to [0, 1]
MNIST_STD = 0.3081
