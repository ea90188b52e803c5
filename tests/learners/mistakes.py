"""Typical learner mistakes, each with the exercise and hint the grader must answer with."""

from typing import NamedTuple


class Mistake(NamedTuple):
    name: str
    exercise: int
    module: str
    old: str
    new: str
    hint: str
    shows: str = ""  # what else the message must say: what is telling about where the answer is wrong
    more: tuple[tuple[str, str], ...] = ()  # further (old, new) edits of the same module


MISTAKES = [
    Mistake("softmax output", 3, "model.py",
            "logits = self.fc2(x)", "logits = F.softmax(self.fc2(x), dim=1)", "logits"),
    Mistake("wrong flatten size", 3, "model.py",
            "self.fc1 = nn.Linear(FLATTENED_FEATURES, 50)", "self.fc1 = nn.Linear(500, 50)", "flatten"),
    Mistake("flatten loses the batch dimension", 3, "model.py",
            "x = torch.flatten(x, 1)", "x = torch.flatten(x)", "flatten"),
    Mistake("dropout left on at test time", 3, "model.py",
            "x = self.fc_drop(F.relu(self.fc1(x)))", "x = F.dropout(F.relu(self.fc1(x)), p=0.5)", "dropout"),
    Mistake("missing zero_grad", 7, "engine.py",
            "        optimizer.zero_grad()\n", "", "zero_grad"),
    Mistake("forgetting train mode", 7, "engine.py",
            "    model.train()\n", "", "train_mode"),
    Mistake("forgetting eval mode", 7, "engine.py",
            "    model.eval()\n", "", "eval_mode"),
    Mistake("gradients tracked while testing", 7, "engine.py",
            "with torch.no_grad():", "if True:", "no_grad"),
    Mistake("accuracy divided by the number of batches", 7, "engine.py",
            "            total += len(labels)", "            total += 1", "accuracy"),
    Mistake("loss summed instead of averaged", 7, "engine.py",
            "return Evaluation(loss=loss_sum / total,", "return Evaluation(loss=loss_sum,", "loss_average"),
    Mistake("loss averaged per batch", 7, "engine.py",
            "loss_sum += loss_fn(outputs, labels).item() * len(labels)",
            "loss_sum += loss_fn(outputs, labels).item()", "loss_average"),
    Mistake("argmax over the wrong dim", 7, "engine.py",
            "correct += (outputs.argmax(dim=1) == labels)", "correct += (outputs.argmax(dim=0) == labels)",
            "argmax"),
    Mistake("TensorBoard train tag typo", 9, "monitor.py",
            '"Loss/Train"', '"Loss/train"', "train_tag"),
    Mistake("TensorBoard test tag typo", 9, "monitor.py",
            '"Accuracy/Test"', '"accuracy/test"', "test_tags"),
    Mistake("steps logged with the epoch index", 9, "monitor.py",
            "step = epoch * batches_per_epoch + batch_index", "step = epoch", "global_step"),
    Mistake("steps logged with the batch index", 9, "monitor.py",
            "step = epoch * batches_per_epoch + batch_index", "step = batch_index", "global_step"),
    Mistake("argmax over the wrong dim in predict", 11, "inference.py",
            "digits=probabilities.argmax(dim=1)", "digits=probabilities.argmax(dim=0)", "digits"),
    Mistake("outputs used as probabilities", 11, "inference.py",
            'else F.softmax(outputs, dim=1)', "else outputs", "probabilities"),
    Mistake("no inversion of a dark-on-light drawing", 12, "preprocess.py",
            "if paper > 0.5:", "if False:", "invert"),
    Mistake("no centring", 12, "preprocess.py",
            "field = place_in_field(digit)",
            "field = np.zeros((FIELD, FIELD), np.float32)\n"
            "    field[: digit.shape[0], : digit.shape[1]] = digit", "centre"),
    Mistake("no crop to the ink", 12, "preprocess.py",
            "    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]\n", "", "crop"),
    Mistake("not normalised", 12, "preprocess.py",
            "torch.from_numpy((field - MNIST_MEAN) / MNIST_STD)", "torch.from_numpy(field)", "normalise"),
    # exercise 3: forwards that give the right shapes but not the notebook's network
    Mistake("no ReLU after fc1", 3, "model.py",
            "x = self.fc_drop(F.relu(self.fc1(x)))", "x = self.fc_drop(self.fc1(x))", "forward"),
    Mistake("no ReLU after the second conv stage", 3, "model.py",
            "x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))",
            "x = F.max_pool2d(self.conv2_drop(self.conv2(x)), 2)", "forward"),
    Mistake("average instead of max pooling", 3, "model.py",
            "x = F.relu(F.max_pool2d(self.conv1(x), 2))", "x = F.relu(F.avg_pool2d(self.conv1(x), 2))", "forward"),
    Mistake("nn.Dropout instead of Dropout2d", 3, "model.py",
            "self.conv2_drop = nn.Dropout2d(conv_dropout)", "self.conv2_drop = nn.Dropout(conv_dropout)",
            "channel_dropout"),
    Mistake("conv2_drop declared but never used", 3, "model.py",
            "F.max_pool2d(self.conv2_drop(self.conv2(x)), 2)", "F.max_pool2d(self.conv2(x), 2)", "channel_dropout"),
    Mistake("forward ignores double_softmax", 3, "model.py",
            "logits = self.fc2(x)", "return self.fc2(x)", "double_softmax"),
    Mistake("dropout rates fixed", 3, "model.py",
            "self.conv2_drop = nn.Dropout2d(conv_dropout)", "self.conv2_drop = nn.Dropout2d(0.5)", "dropout_rates"),
    # exercise 7: loops that look right on a CPU with even batches
    Mistake("training loss as the mean of batch means", 7, "engine.py",
            "        loss_sum += batch_loss * len(labels)\n        seen += len(labels)\n",
            "        loss_sum += batch_loss\n        seen += 1\n", "train_loss"),
    Mistake("on_step before the optimiser step", 7, "engine.py",
            "        optimizer.step()\n        batch_loss = loss.item()\n        loss_sum += batch_loss * len(labels)\n"
            "        seen += len(labels)\n        if on_step is not None:\n"
            "            on_step(batch_index, batch_loss)\n",
            "        batch_loss = loss.item()\n        if on_step is not None:\n"
            "            on_step(batch_index, batch_loss)\n"
            "        optimizer.step()\n        loss_sum += batch_loss * len(labels)\n        seen += len(labels)\n",
            "on_step"),
    Mistake("step before backward", 7, "engine.py",
            "        loss.backward()\n        optimizer.step()\n",
            "        optimizer.step()\n        loss.backward()\n",
            "step_order"),
    Mistake("zero_grad after backward", 7, "engine.py",
            "        optimizer.zero_grad()\n        loss = loss_fn(model(images), labels)\n        loss.backward()\n",
            "        loss = loss_fn(model(images), labels)\n        loss.backward()\n        optimizer.zero_grad()\n",
            "zero_grad"),
    Mistake("only the images moved to the device", 7, "engine.py",
            "\n        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)",
            "\n        images = images.to(device)", "device"),
    Mistake("batches never moved while testing", 7, "engine.py",
            "\n            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)",
            "", "device"),
    Mistake("device hard-coded as 'cpu'", 7, "engine.py",
            "\n        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)",
            "\n        images, labels = images.to('cpu'), labels.to('cpu')", "device"),
    # exercise 9
    Mistake("accuracy logged as a fraction", 9, "monitor.py",
            'writer.add_scalar("Accuracy/Test", accuracy, epoch)',
            'writer.add_scalar("Accuracy/Test", accuracy / 100, epoch)',
            "values"),
    Mistake("test results logged one epoch late", 9, "monitor.py",
            'writer.add_scalar("Loss/Test", loss, epoch)', 'writer.add_scalar("Loss/Test", loss, epoch + 1)',
            "test_step"),
    # exercise 11
    Mistake("predict does not move its input", 11, "inference.py",
            "outputs = model(images.to(device))", "outputs = model(images)", "input_device"),
    Mistake("predict without eval mode", 11, "inference.py",
            "    model.eval()\n", "", "eval_mode"),
    Mistake("softmax applied to a double_softmax model", 11, "inference.py",
            'probabilities = outputs if getattr(model, "double_softmax", False) else F.softmax(outputs, dim=1)',
            "probabilities = F.softmax(outputs, dim=1)", "softmax_twice"),
    # exercise 12
    Mistake("small drawings never enlarged", 12, "preprocess.py",
            "scale = DIGIT_BOX / max(ink.shape)", "scale = min(1.0, DIGIT_BOX / max(ink.shape))", "scale"),
    Mistake("no contrast stretch", 12, "preprocess.py",
            "    ink /= ink.max()\n", "", "contrast"),
    Mistake("proportions not kept", 12, "preprocess.py",
            "size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))",
            "size = (DIGIT_BOX, DIGIT_BOX)", "scale"),
    Mistake("no channel dimension", 12, "preprocess.py",
            "(field - MNIST_MEAN) / MNIST_STD).unsqueeze(0)", "(field - MNIST_MEAN) / MNIST_STD)", "shape"),
    Mistake("normalised in the wrong order", 12, "preprocess.py",
            "(field - MNIST_MEAN) / MNIST_STD)", "field / MNIST_STD - MNIST_MEAN)", "normalise"),
]

# found by doing the exercises by hand and trying variations on the finished solution
MISTAKES += [
    Mistake("Dropout2d given the keep probability", 3, "model.py",
            "nn.Dropout2d(conv_dropout)", "nn.Dropout2d(1 - conv_dropout)", "dropout_keep"),
    Mistake("Dropout given the keep probability", 3, "model.py",
            "nn.Dropout(fc_dropout)", "nn.Dropout(1 - fc_dropout)", "dropout_keep"),
    Mistake("Dropout2d also after conv1", 3, "model.py",
            "F.max_pool2d(self.conv1(x), 2)", "F.max_pool2d(self.conv2_drop(self.conv1(x)), 2)", "dropout_place"),
    Mistake("conv and fc dropout rates swapped", 3, "model.py",
            "nn.Dropout2d(conv_dropout)\n        self.fc1 = nn.Linear(FLATTENED_FEATURES, 50)\n"
            "        self.fc_drop = nn.Dropout(fc_dropout)",
            "nn.Dropout2d(fc_dropout)\n        self.fc1 = nn.Linear(FLATTENED_FEATURES, 50)\n"
            "        self.fc_drop = nn.Dropout(conv_dropout)", "dropout_swapped"),
    Mistake("softmax before CrossEntropyLoss in the training loop", 7, "engine.py",
            "loss = loss_fn(model(images), labels)", "loss = loss_fn(torch.softmax(model(images), dim=1), labels)",
            "softmax_in_loop"),
    Mistake("softmax applied twice in predict", 11, "inference.py",
            "else F.softmax(outputs, dim=1)", "else F.softmax(F.softmax(outputs, dim=1), dim=1)", "softmax_twice"),
    Mistake("nearest-neighbour resize", 12, "preprocess.py",
            "Image.Resampling.LANCZOS", "Image.Resampling.NEAREST", "resize_filter"),
    Mistake("cropped at any pixel above 0", 12, "preprocess.py",
            "    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))\n"
            "    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))\n",
            "    rows = np.flatnonzero((ink > 0).any(axis=1))\n    cols = np.flatnonzero((ink > 0).any(axis=0))\n",
            "ink_threshold"),
    Mistake("centred by the bounding box", 12, "preprocess.py",
            "field = place_in_field(digit)",
            "field = np.zeros((FIELD, FIELD), np.float32)\n"
            "    top, left = (FIELD - digit.shape[0]) // 2, (FIELD - digit.shape[1]) // 2\n"
            "    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit", "centre"),
    Mistake("digit transposed", 12, "preprocess.py",
            "digit = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)",
            "digit = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0).T", "transposed"),
]

# the concept exercises: each idea gone wrong the way learners get it wrong
_SUMS = """    count, total, total_of_squares = 0, 0.0, 0.0
    for batch in batches:
        values = batch.double()
        count += values.numel()
        total += values.sum().item()
        total_of_squares += values.square().sum().item()
    mean = total / count
    variance = max(total_of_squares / count - mean**2, 0.0)
    return mean, variance**0.5
"""
CONCEPT_MISTAKES = [
    Mistake("mean of the batches' means", 1, "tensors.py", _SUMS,
            "    means, variances = [], []\n    for batch in batches:\n        means.append(batch.double().mean().item())\n"
            "        variances.append(batch.double().var(correction=0).item())\n"
            "    return sum(means) / len(means), (sum(variances) / len(variances)) ** 0.5\n", "batch_means"),
    Mistake("mean of the batches' standard deviations", 1, "tensors.py", _SUMS,
            "    count, total, stds = 0, 0.0, []\n    for batch in batches:\n        count += batch.numel()\n"
            "        total += batch.double().sum().item()\n        stds.append(batch.double().std(correction=0).item())\n"
            "    return total / count, sum(stds) / len(stds)\n", "pooled_std"),
    Mistake("every batch kept in memory", 1, "tensors.py", _SUMS,
            "    pixels = torch.cat([batch.double().flatten() for batch in batches])\n"
            "    return pixels.mean().item(), pixels.std(correction=0).item()\n", "one_batch"),
    Mistake("the last batch forgotten", 1, "tensors.py",
            "    full_batches, left_over = divmod(dataset_size, batch_size)\n"
            "    return full_batches + (1 if left_over and not drop_last else 0)\n",
            "    return dataset_size // batch_size\n", "last_batch"),
    Mistake("one step too many on an exact multiple", 1, "tensors.py",
            "    return full_batches + (1 if left_over and not drop_last else 0)\n",
            "    return full_batches + (0 if drop_last else 1)\n", "exact_multiple"),
    Mistake("a flipped kernel", 2, "convolution.py",
            "windows, weight)", "windows, weight.flip(2, 3))", "flipped_kernel"),
    Mistake("the stride ignored while sliding", 2, "convolution.py",
            "images.unfold(2, kernel_height, stride).unfold(3, kernel_width, stride)",
            "images.unfold(2, kernel_height, 1).unfold(3, kernel_width, 1)", "stride"),
    Mistake("padding on one side only", 2, "convolution.py",
            "images = F.pad(input, (padding, padding, padding, padding))",
            "images = F.pad(input, (padding, 0, padding, 0))", "padding"),
    Mistake("the bias forgotten", 2, "convolution.py",
            "    if bias is not None:\n        output += bias.view(1, -1, 1, 1)\n", "", "bias"),
    Mistake("F.conv2d inside conv2d", 2, "convolution.py",
            "    images = F.pad(input, (padding, padding, padding, padding))\n",
            "    return F.conv2d(input, weight, bias, stride, padding)\n", "own_conv"),
    Mistake("pooling windows that overlap", 2, "convolution.py",
            "stride = kernel_size if stride is None else stride", "stride = 1 if stride is None else stride",
            "pool_stride"),
    Mistake("average instead of max in pooling", 2, "convolution.py",
            "return torch.stack(windows).amax(dim=0)", "return torch.stack(windows).mean(dim=0)", "pool_max"),
    Mistake("padding counted once in the size formula", 2, "convolution.py",
            "return (size + 2 * padding - kernel_size) // stride + 1", "return (size + padding - kernel_size) // stride + 1",
            "output_size_padding"),
    Mistake("a softmax without the max subtracted", 4, "losses.py",
            "    shifted = input - input.amax(dim=dim, keepdim=True)\n", "    shifted = input\n", "max_subtracted"),
    Mistake("a sum where the mean belongs", 4, "losses.py", "return -right.mean()", "return -right.sum()", "mean"),
    Mistake("the floor typed in", 4, "losses.py",
            "    best_probabilities = torch.eye(num_classes, dtype=torch.float64)[:1]\n"
            "    return cross_entropy(best_probabilities, torch.tensor([0])).item()\n", "    return 1.4612\n",
            "floor_typed"),
    Mistake("torch.log_softmax inside cross_entropy", 4, "losses.py",
            "log_probabilities = log_softmax(input, dim=1)", "log_probabilities = torch.log_softmax(input, dim=1)",
            "own_loss"),
    Mistake("log_softmax always along dim 1", 4, "losses.py",
            "    shifted = input - input.amax(dim=dim, keepdim=True)\n"
            "    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()\n",
            "    shifted = input - input.amax(dim=1, keepdim=True)\n"
            "    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()\n", "dim"),
    Mistake("the ReLU mask forgotten", 5, "backprop.py",
            "d_hidden = (d_scores @ w2) * (hidden > 0)", "d_hidden = d_scores @ w2", "relu_mask"),
    Mistake("a bias gradient summed over the wrong axis", 5, "backprop.py",
            "d_w2, d_b2 = d_scores.T @ activations, d_scores.sum(dim=0)",
            "d_w2, d_b2 = d_scores.T @ activations, d_scores.sum(dim=1)", "bias_axis"),
    Mistake("the batch mean's 1/N forgotten", 5, "backprop.py",
            ".to(scores.dtype)) / len(targets)", ".to(scores.dtype))", "batch_mean"),
    Mistake("loss.backward() inside the manual backward", 5, "backprop.py",
            "    hidden = inputs @ w1.T + b1\n",
            "    leaves = [w.clone().requires_grad_() for w in (w1, b1, w2, b2)]\n"
            "    loss = F.cross_entropy(F.relu(inputs @ leaves[0].T + leaves[1]) @ leaves[2].T + leaves[3], targets)\n"
            "    loss.backward()\n"
            "    return loss.detach(), Gradients(*(leaf.grad for leaf in leaves))\n"
            "    hidden = inputs @ w1.T + b1\n", "no_autograd"),
    Mistake("a one-sided difference", 5, "backprop.py",
            "            flat_input[index] = original - eps\n            below = float(function(input))\n"
            "            flat_input[index] = original\n"
            "            flat_gradient[index] = (above - below) / (2 * eps)\n",
            "            flat_input[index] = original\n            below = float(function(input))\n"
            "            flat_gradient[index] = (above - below) / eps\n", "central"),
    Mistake("the nudged entry not put back", 5, "backprop.py",
            "            flat_input[index] = original\n", "", "restore"),
    Mistake("the difference divided by eps", 5, "backprop.py",
            "(above - below) / (2 * eps)", "(above - below) / eps", "two_eps"),
    Mistake("Adam without bias correction", 6, "optimisers.py",
            '            corrected_mean = mean / (1 - beta1 ** state["step"])\n'
            '            corrected_mean_of_squares = mean_of_squares / (1 - beta2 ** state["step"])\n',
            "            corrected_mean, corrected_mean_of_squares = mean, mean_of_squares\n", "bias_correction"),
    Mistake("eps inside Adam's square root", 6, "optimisers.py",
            "(corrected_mean_of_squares.sqrt() + self.eps)", "(corrected_mean_of_squares + self.eps).sqrt()", "adam_eps"),
    Mistake("a damped first momentum buffer", 6, "optimisers.py",
            'state["momentum_buffer"] = parameter.grad.clone()',
            'state["momentum_buffer"] = (1 - self.momentum) * parameter.grad', "momentum_first_step"),
    Mistake("torch.optim.SGD inside SGD", 6, "optimisers.py",
            "            parameter.sub_(self.lr * direction)\n",
            "            torch.optim.SGD([parameter], lr=self.lr).step()\n", "own_optimiser"),
    Mistake("dropout left on at step 0", 8, "sanity.py", "    model.eval()\n", "", "start_eval"),
    Mistake("the step-0 loss recorded with a graph", 8, "sanity.py",
            "    with torch.no_grad():\n        return loss_fn(model(images), labels).item()\n",
            "    return loss_fn(model(images), labels).item()\n", "start_no_grad"),
    Mistake("overfitting without zero_grad", 8, "sanity.py", "        optimizer.zero_grad()\n", "", "overfit_loop"),
    Mistake("overfitting in eval mode", 8, "sanity.py", "    model.train()\n", "", "overfit_train_mode"),
    Mistake("losses kept as tensors", 8, "sanity.py", "losses.append(loss.item())", "losses.append(loss)", "start_float"),
    # found by trying the exercises as a hostile learner would
    Mistake("the batches read twice", 1, "tensors.py", _SUMS,
            "    count, total = 0, 0.0\n    for batch in batches:\n        count += batch.numel()\n"
            "        total += batch.double().sum().item()\n    mean, squared = total / count, 0.0\n"
            "    for batch in batches:\n        squared += (batch.double() - mean).square().sum().item()\n"
            "    return mean, (squared / count) ** 0.5\n", "one_pass"),
    Mistake("only the spread inside each batch", 1, "tensors.py", _SUMS,
            "    count, total, within = 0, 0.0, 0.0\n    for batch in batches:\n        count += batch.numel()\n"
            "        total += batch.double().sum().item()\n"
            "        within += batch.numel() * batch.double().var(correction=0).item()\n"
            "    return total / count, (within / count) ** 0.5\n", "pooled_std"),
    Mistake("the bias added at every kernel position", 2, "convolution.py",
            "output += bias.view(1, -1, 1, 1)", "output += kernel_height * kernel_width * bias.view(1, -1, 1, 1)",
            "bias"),
    Mistake("padding of the width only", 2, "convolution.py",
            "images = F.pad(input, (padding, padding, padding, padding))", "images = F.pad(input, (padding, padding))",
            "padding"),
    Mistake("the size formula without + 1", 2, "convolution.py",
            "return (size + 2 * padding - kernel_size) // stride + 1", "return (size + 2 * padding - kernel_size) // stride",
            "output_size"),
    Mistake("the log of a softmax", 4, "losses.py",
            "    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()\n",
            "    return (shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)).log()\n", "log_underflow"),
    Mistake("gradients returned in another order", 5, "backprop.py",
            "return loss, Gradients(w1=d_w1, b1=d_b1, w2=d_w2, b2=d_b2)", "return loss, Gradients(d_w2, d_b2, d_w1, d_b1)",
            "gradient_order"),
    Mistake("a parameter rebound instead of changed", 6, "optimisers.py",
            "            parameter.sub_(self.lr * direction)\n", "            parameter = parameter - self.lr * direction\n",
            "in_place"),
    Mistake("Adam counting steps from 0 (NaN weights)", 6, "optimisers.py",
            'corrected_mean = mean / (1 - beta1 ** state["step"])', 'corrected_mean = mean / (1 - beta1 ** (state["step"] - 1))',
            "adam"),
]
MISTAKES += CONCEPT_MISTAKES

# issue 31: the concept exercises' cases that passed, or failed naming another mistake
_FORMULA = "return (size + 2 * padding - kernel_size) // stride + 1"
_OWN_COUNTS = (  # max_pool2d counting its positions itself, not with conv_output_size (conv2d's unfold counts its own)
    (("    height = conv_output_size(input.shape[2], kernel_size, stride)\n"
      "    width = conv_output_size(input.shape[3], kernel_size, stride)\n"),
     ("    height = (input.shape[2] - kernel_size) // stride + 1\n"
      "    width = (input.shape[3] - kernel_size) // stride + 1\n")),
)
ISSUE_31 = [
    Mistake("round() in a size formula nothing else uses", 2, "convolution.py", _FORMULA,
            "return round((size + 2 * padding - kernel_size) / stride) + 1", "output_size_rounding", more=_OWN_COUNTS),
    Mistake("round() in the size formula max_pool2d uses", 2, "convolution.py", _FORMULA,
            "return round((size + 2 * padding - kernel_size) / stride) + 1", "size_formula_used"),
    Mistake("padded with ones", 2, "convolution.py",
            "images = F.pad(input, (padding, padding, padding, padding))",
            "images = F.pad(input, (padding, padding, padding, padding), value=1.0)", "padding",
            shows="only the outputs whose window reaches into the padding differ"),
    Mistake("the maximum of the absolute values", 2, "convolution.py",
            "return torch.stack(windows).amax(dim=0)", "return torch.stack(windows).abs().amax(dim=0)", "pool_max"),
    Mistake("one maximum for the whole tensor", 4, "losses.py",
            "shifted = input - input.amax(dim=dim, keepdim=True)", "shifted = input - input.max()", "max_per_row",
            shows="only row 3, [-1000, -1001, -999], differ"),
    Mistake("eps hard-coded to 1e-2", 5, "backprop.py",
            "            original = flat_input[index].item()\n",
            "            original = flat_input[index].item()\n            eps = 1e-2\n", "eps_given"),
    Mistake("a default eps of 1e-2", 5, "backprop.py", "eps: float = 1e-6", "eps: float = 1e-2", "default_eps",
            shows="found: what eps=0.01 gives"),
    Mistake("Nesterov momentum", 6, "optimisers.py",
            '                direction = state["momentum_buffer"]\n',
            '                direction = parameter.grad + self.momentum * state["momentum_buffer"]\n', "nesterov"),
    Mistake("a new optimiser at every step", 8, "sanity.py", "        optimizer.zero_grad()\n",
            "        optimizer = type(optimizer)(model.parameters(), **optimizer.defaults)\n"
            "        optimizer.zero_grad()\n", "overfit_one_optimiser"),
]
# issue 31: wrong variations written before reading the diagnoses, as a new learner might write them
MY_WRONG_VARIATIONS = [
    Mistake("the sample's standard deviation", 1, "tensors.py",
            "variance = max(total_of_squares / count - mean**2, 0.0)",
            "variance = max(total_of_squares - count * mean**2, 0.0) / (count - 1)", "population"),
    Mistake("the mean not squared in the variance", 1, "tensors.py",
            "variance = max(total_of_squares / count - mean**2, 0.0)",
            "variance = max(total_of_squares / count - mean, 0.0)", "variance_formula"),
    Mistake("drop_last ignored", 1, "tensors.py",
            "    full_batches, left_over = divmod(dataset_size, batch_size)\n"
            "    return full_batches + (1 if left_over and not drop_last else 0)\n",
            "    return -(-dataset_size // batch_size)\n", "drop_last"),
    Mistake("ceil in the size formula", 2, "convolution.py", _FORMULA,
            "return math.ceil((size + 2 * padding - kernel_size) / stride) + 1", "output_size_rounding",
            more=(("import torch\n", "import math\n\nimport torch\n"), *_OWN_COUNTS)),
    Mistake("the stride forgotten along the columns", 2, "convolution.py",
            ".unfold(3, kernel_width, stride)", ".unfold(3, kernel_width, 1)", "stride"),
    Mistake("the bias added without a view", 2, "convolution.py",
            "output += bias.view(1, -1, 1, 1)", "output += bias", "bias"),
    Mistake("the kernel transposed", 2, "convolution.py",
            '"nchwij,ocij->nohw"', '"nchwij,ocji->nohw"', "transposed_kernel"),
    Mistake("pooling windows that hang over the edge", 2, "convolution.py",
            "    height = conv_output_size(input.shape[2], kernel_size, stride)\n"
            "    width = conv_output_size(input.shape[3], kernel_size, stride)\n"
            "    windows = [input[:, :, row : row + stride * height : stride, column : column + stride * width : stride]\n"
            "               for row in range(kernel_size) for column in range(kernel_size)]\n"
            "    return torch.stack(windows).amax(dim=0)\n",
            "    rows, columns = range(0, input.shape[2], stride), range(0, input.shape[3], stride)\n"
            "    return torch.stack([torch.stack([input[:, :, r : r + kernel_size, c : c + kernel_size].amax(dim=(2, 3))\n"
            "                                     for c in columns], dim=-1) for r in rows], dim=-2)\n", "pool_shape"),
    Mistake("a running maximum that starts at 0", 2, "convolution.py",
            "    return torch.stack(windows).amax(dim=0)\n",
            "    largest = torch.zeros_like(windows[0])\n    for window in windows:\n"
            "        largest = torch.maximum(largest, window)\n    return largest\n", "pool",
            shows="only the windows whose largest value is negative differ"),
    Mistake("the max subtracted inside the exp only", 4, "losses.py",
            "    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()\n",
            "    return input - shifted.exp().sum(dim=dim, keepdim=True).log()\n", "log_softmax_shift"),
    Mistake("every row's loss at every target", 4, "losses.py",
            "right = log_probabilities[torch.arange(len(target)), target]", "right = log_probabilities[:, target]",
            "right_class"),
    Mistake("the momentum buffer kept but the gradient used", 6, "optimisers.py",
            '                direction = state["momentum_buffer"]\n', "                direction = parameter.grad\n",
            "momentum"),
    Mistake("Adam averaging gradients, not their squares", 6, "optimisers.py",
            "mean_of_squares.mul_(beta2).add_((1 - beta2) * gradient.square())",
            "mean_of_squares.mul_(beta2).add_((1 - beta2) * gradient)", "adam_square"),
    Mistake("Adam correcting v but not m", 6, "optimisers.py",
            'corrected_mean = mean / (1 - beta1 ** state["step"])', "corrected_mean = mean", "bias_correction"),
    Mistake("each loss measured after its step", 8, "sanity.py", "losses.append(loss.item())",
            "losses.append(loss_fn(model(images), labels).item())", "overfit_first"),
]
MISTAKES += ISSUE_31 + MY_WRONG_VARIATIONS

# issue 33: the CNN assembled from the learner's own parts, put together wrongly
_FIRST_STAGE = "x = F.relu(max_pool2d(conv2d(x, self.conv1.weight, self.conv1.bias), 2))"
OWN_PARTS = [
    Mistake("PyTorch's conv2d in the own-parts CNN", 13, "own_parts.py", _FIRST_STAGE,
            "x = F.relu(max_pool2d(F.conv2d(x, self.conv1.weight, self.conv1.bias), 2))", "library_conv"),
    Mistake("PyTorch's cross-entropy as the own loss", 13, "own_parts.py", "return cross_entropy(outputs, labels)",
            "return F.cross_entropy(outputs, labels)", "library_loss"),
    Mistake("torch.optim.Adam as the own optimiser", 13, "own_parts.py", "return Adam(parameters, lr=lr)",
            "return torch.optim.Adam(parameters, lr=lr)", "library_optimiser"),
    Mistake("pooling before the convolution", 13, "own_parts.py", _FIRST_STAGE,
            "x = F.relu(conv2d(max_pool2d(x, 2), self.conv1.weight, self.conv1.bias))", "layer_order"),
    Mistake("dropout left on in eval", 13, "own_parts.py",
            "F.dropout(F.relu(self.fc1(x)), self.fc_dropout, training=self.training)",
            "F.dropout(F.relu(self.fc1(x)), self.fc_dropout)", "eval_dropout"),
    Mistake("softmax before the own loss", 13, "own_parts.py", "return cross_entropy(outputs, labels)",
            "return cross_entropy(softmax(outputs, dim=1), labels)", "softmax_before_loss"),
    Mistake("the own optimiser stepping before backward", 13, "own_parts.py",
            "    batch_loss.backward()\n    adam.step()\n", "    adam.step()\n    batch_loss.backward()\n", "step_order"),
    Mistake("a conv2d looping over every output pixel", 13, "convolution.py",
            '    output = torch.einsum("nchwij,ocij->nohw", windows, weight)\n',
            "    output = input.new_zeros(input.shape[0], weight.shape[0], windows.shape[2], windows.shape[3])\n"
            "    for row in range(windows.shape[2]):\n        for column in range(windows.shape[3]):\n"
            "            output[:, :, row, column] = torch.einsum(\"ncij,ocij->no\", windows[:, :, row, column], weight)\n",
            "pixel_loop", shows="operations for 6×6 and"),
]
MISTAKES += OWN_PARTS
