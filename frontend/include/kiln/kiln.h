#pragma once

// Everything a model program needs: `#include "kiln/kiln.h"`.
#include "kiln/error.h"
#include "kiln/module.h"
#include "kiln/nn/activation.h"
#include "kiln/nn/container.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/dropout.h"
#include "kiln/nn/flatten.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/linear.h"
#include "kiln/nn/loss.h"
#include "kiln/nn/normalization.h"
#include "kiln/nn/padding.h"
#include "kiln/nn/pooling.h"
#include "kiln/optim.h"
#include "kiln/save.h"
#include "kiln/tensor.h"
