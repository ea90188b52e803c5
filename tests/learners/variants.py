"""Correct solutions that differ from the reference; the grader must accept each of them.

A variant gives, per module, the new text of each solution block in order.
"""

SEQUENTIAL = {
    "model.py": [
        """\
        self.features = nn.Sequential(
            nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(10, 20, 5), nn.Dropout2d(conv_dropout), nn.MaxPool2d(2), nn.ReLU(),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(320, 50), nn.ReLU(), nn.Dropout(fc_dropout), nn.Linear(50, 10))
""",
        """\
        logits = self.classifier(self.features(x))
""",
    ],
    "monitor.py": [
        """\
    writer.add_scalar(tag="Loss/Train", scalar_value=loss, global_step=batches_per_epoch * epoch + batch_index)
""",
        """\
    for tag, value in (("Loss/Test", loss), ("Accuracy/Test", accuracy)):
        writer.add_scalar(tag, value, global_step=epoch)
""",
    ],
}

FUNCTIONAL = {
    "model.py": [
        """\
        self.conv1, self.conv2 = nn.Conv2d(1, 10, 5), nn.Conv2d(10, 20, 5)
        self.fc1, self.fc2 = nn.Linear(320, 50), nn.Linear(50, 10)
        self.rates = (conv_dropout, fc_dropout)
""",
        """\
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.dropout2d(self.conv2(x), self.rates[0], training=self.training)
        x = F.relu(F.max_pool2d(x, 2)).view(-1, 320)
        x = F.dropout(F.relu(self.fc1(x)), self.rates[1], training=self.training)
        logits = self.fc2(x)
""",
    ],
    "engine.py": [
        """\
    model.train()
    total_loss = torch.zeros(())
    count = 0
    batch_index = 0
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        model.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach() * labels.size(0)
        count += labels.size(0)
        if on_step:
            on_step(batch_index, loss.item())
        batch_index += 1
    return (total_loss / count).item()
""",
        """\
    model.eval()
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.long)
    total = 0
    with torch.inference_mode():
        for images, labels in batches:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            loss_sum += loss_fn(outputs, labels) * labels.size(0)
            correct += (torch.max(outputs, 1).indices == labels).sum()
            total += labels.size(0)
    return Evaluation(loss=(loss_sum / total).item(), correct=int(correct), total=total)
""",
    ],
}

LOG_SOFTMAX = {
    "model.py": [
        """\
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(p=conv_dropout)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)
        self.fc_dropout = fc_dropout
""",
        """\
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(x.shape[0], -1)
        x = F.dropout(F.relu(self.fc1(x)), p=self.fc_dropout, training=self.training)
        # log-probabilities: CrossEntropyLoss on them is exactly NLLLoss
        logits = F.log_softmax(self.fc2(x), dim=1)
""",
    ],
    "inference.py": [
        """\
    model.eval()
    with torch.no_grad():
        scores = model(images.to(device)).cpu()
    if getattr(model, "double_softmax", False):
        probabilities = scores
    else:
        probabilities = scores.exp() / scores.exp().sum(dim=1, keepdim=True)
    return Prediction(digits=probabilities.max(dim=1).indices, probabilities=probabilities)
""",
        """\
    figure = Figure()
    left, right = figure.subplots(1, 2)
    left.imshow(model_input[0].numpy(), cmap="gray")
    right.bar(list(range(10)), probabilities.tolist())
    figure.savefig(path)
    return Path(path)
""",
    ],
    "preprocess.py": [
        """\
    corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
    if np.median(pixels[0]) > 0.5 or corners.mean() > 0.5:
        pixels = 1.0 - pixels
    pixels = np.clip(pixels - np.median(np.r_[pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]), 0, None)
    pixels = pixels / pixels.max()
    mask = Image.fromarray(((pixels > INK_THRESHOLD) * 255).astype(np.uint8))
    left, top, right, bottom = mask.getbbox()
    ink = pixels[top:bottom, left:right]
    height, width = ink.shape
    factor = DIGIT_BOX / max(height, width)
    new_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    digit = np.asarray(Image.fromarray(ink).resize(new_size, Image.Resampling.LANCZOS)).clip(0, 1)
    normalised = (place_in_field(digit.astype(np.float32)) - MNIST_MEAN) / MNIST_STD
    return torch.tensor(normalised)[None]
""",
    ],
}

# The PyTorch examples' style: model moved inside the loop, accumulators created on the device,
# and the test loss summed with reduction="sum" and divided by the number of samples.
EXAMPLES_STYLE = {
    "engine.py": [
        """\
    model.to(device)
    model.train()
    total = torch.zeros((), device=device)
    count = 0
    for batch_idx, (data, target) in enumerate(batches):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = loss_fn(output, target)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(data)
        count += len(data)
        if on_step is not None:
            on_step(batch_idx, loss.item())
    return total.item() / count
""",
        """\
    model.eval()
    test_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for data, target in batches:
            data, target = data.to(device), target.to(device)
            output = model(data)
            loss_fn(output, target)  # the given loss, unused: the sum below is the same loss
            test_loss += torch.nn.functional.cross_entropy(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
            count += len(data)
    test_loss /= count
    return Evaluation(test_loss, correct, count)
""",
    ],
}

# TensorBoard calls a learner may add: flush after logging, keyword arguments, walltime.
FLUSHING_WRITER = {
    "monitor.py": [
        """\
    writer.add_scalar("Loss/Train", scalar_value=float(loss), global_step=epoch * batches_per_epoch + batch_index)
    writer.flush()
""",
        """\
    import time

    writer.add_scalar("Loss/Test", loss, epoch, walltime=time.time())
    writer.add_scalar("Accuracy/Test", accuracy, global_step=epoch)
    writer.flush()
""",
    ],
}

# Dropout2d after pooling and ReLU (still whole feature maps), x.view(-1, 320), F.dropout with training=...
DROPOUT_AFTER_POOLING = {
    "model.py": [
        """\
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.conv2_drop = nn.Dropout2d(conv_dropout)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)
        self.fc_dropout = fc_dropout
""",
        """\
        x = F.max_pool2d(F.relu(self.conv1(x)), kernel_size=2, stride=2)
        x = self.conv2_drop(F.relu(F.max_pool2d(self.conv2(x), 2)))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=self.fc_dropout, training=self.training)
        logits = self.fc2(x)
""",
    ],
    "inference.py": [
        """\
    model = model.to(device).eval()
    images = images.to(device)
    with torch.inference_mode():
        outputs = model(images)
        if getattr(model, "double_softmax", False):
            probabilities = outputs.cpu()
        else:
            probabilities = torch.exp(F.log_softmax(outputs, dim=1)).cpu()
    return Prediction(torch.argmax(probabilities, dim=1), probabilities)
""",
        """\
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2)
    left.imshow(model_input.squeeze(), cmap="gray")
    right.bar(range(10), probabilities)
    figure.savefig(str(path))
    plt.close(figure)
    return Path(path)
""",
    ],
}

# The loss of evaluate computed with F.cross_entropy instead of the given loss_fn, and predict sending the
# images wherever the model's weights are: right answers the device checks once failed.
OWN_LOSS_AND_MODEL_DEVICE = {
    "engine.py": [
        """\
    model.train()
    loss_sum, seen = 0.0, 0
    for batch_index, (images, labels) in enumerate(batches):
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(labels)
        seen += len(labels)
        if on_step is not None:
            on_step(batch_index, loss.item())
    return loss_sum / seen
""",
        """\
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in batches:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            loss_sum += torch.nn.functional.cross_entropy(outputs, labels, reduction="sum").item()
            correct += int((outputs.argmax(1) == labels).sum())
            total += labels.numel()
    return Evaluation(loss_sum / total, correct, total)
""",
    ],
    "inference.py": [
        """\
    model.eval()
    with torch.no_grad():
        outputs = model(images.to(next(model.parameters()).device))
    if not getattr(model, "double_softmax", False):
        outputs = outputs.softmax(dim=1)
    probabilities = outputs.cpu()
    return Prediction(digits=probabilities.argmax(dim=1), probabilities=probabilities)
""",
        None,
    ],
}

# prepare_drawing written from the three hints of exercise 12, step by step, nothing more.
AS_THE_HINTS_SAY = {
    "preprocess.py": [
        """\
    border = np.concatenate([pixels[0, :], pixels[-1, :], pixels[:, 0], pixels[:, -1]])
    paper = np.median(border)
    if paper > 0.5:
        pixels = 1 - pixels
        paper = 1 - paper
    ink = np.clip(pixels - paper, 0, None)
    ink = ink / ink.max()
    rows = np.where((ink > INK_THRESHOLD).any(axis=1))[0]
    cols = np.where((ink > INK_THRESHOLD).any(axis=0))[0]
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = ink.shape
    scale = DIGIT_BOX / max(height, width)
    resized = Image.fromarray(ink).resize((round(width * scale), round(height * scale)))
    digit = np.clip(np.array(resized), 0, 1)
    field = place_in_field(digit)
    return torch.tensor((field - MNIST_MEAN) / MNIST_STD, dtype=torch.float32).unsqueeze(0)
""",
    ],
}

# Gradients cleared after each step instead of before backward: the same thing, batch after batch.
ZERO_GRAD_AFTER_STEP = {
    "engine.py": [
        """\
    model.train()
    losses = []
    sizes = []
    optimizer.zero_grad()
    for index, batch in enumerate(batches):
        images, labels = (part.to(device) for part in batch)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        sizes.append(labels.numel())
        if on_step:
            on_step(index, losses[-1])
    return sum(loss * size for loss, size in zip(losses, sizes)) / sum(sizes)
""",
        """\
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        with torch.no_grad():
            outputs = model(images)
        loss_sum += float(loss_fn(outputs, labels)) * labels.numel()
        correct += int((outputs.max(1)[1] == labels).sum())
        total += labels.numel()
    return Evaluation(loss_sum / total, correct, total)
""",
    ],
}

# the concept exercises written another way: explicit loops, library building blocks, other formulas
LOOPS_AND_BUILDING_BLOCKS = {
    "tensors.py": [
        """\
    count = 0
    mean = torch.zeros((), dtype=torch.float64)
    spread = torch.zeros((), dtype=torch.float64)
    for batch in batches:  # Chan et al.'s update: merge each batch's mean and spread into the running ones
        values = batch.flatten().double()
        batch_mean = values.mean()
        batch_spread = ((values - batch_mean) ** 2).sum()
        total = count + values.numel()
        delta = batch_mean - mean
        mean = mean + delta * values.numel() / total
        spread = spread + batch_spread + delta**2 * count * values.numel() / total
        count = total
    return float(mean), float((spread / count).sqrt())
""",
        """\
    import math

    return dataset_size // batch_size if drop_last else math.ceil(dataset_size / batch_size)
""",
    ],
    "convolution.py": [
        """\
    import math

    return math.floor((size + 2 * padding - kernel_size) / stride) + 1
""",
        """\
    padded = F.pad(input, [padding] * 4)
    kernel_height, kernel_width = weight.shape[2:]
    rows = conv_output_size(input.shape[2], kernel_height, stride, padding)
    columns = conv_output_size(input.shape[3], kernel_width, stride, padding)
    output = torch.zeros(input.shape[0], weight.shape[0], rows, columns)
    for i in range(kernel_height):  # over the kernel's positions: a loop over every pixel is too slow to train (ex13)
        for j in range(kernel_width):
            pixels = padded[:, :, i : i + stride * rows : stride, j : j + stride * columns : stride]
            output += (pixels.unsqueeze(1) * weight[None, :, :, i, j, None, None]).sum(dim=2)
    return output if bias is None else output + bias[None, :, None, None]
""",
        """\
    step = stride or kernel_size
    return input.unfold(2, kernel_size, step).unfold(3, kernel_size, step).amax(dim=(-2, -1))
""",
    ],
    "losses.py": [
        """\
    return input - torch.logsumexp(input, dim=dim, keepdim=True)
""",
        """\
    one_hot = torch.nn.functional.one_hot(target, input.shape[1]).to(input.dtype)
    return -(log_softmax(input, 1) * one_hot).sum(dim=1).mean()
""",
        """\
    import math

    # the right class scores e¹ after the second softmax, the others e⁰ = 1: -log(e / (e + C - 1))
    return math.log(math.e + num_classes - 1) - 1
""",
    ],
    "backprop.py": [
        """\
    hidden = torch.einsum("nd,hd->nh", inputs, w1) + b1
    activations = torch.where(hidden > 0, hidden, torch.zeros_like(hidden))
    scores = torch.einsum("nh,ch->nc", activations, w2) + b2
    probabilities = scores.softmax(dim=1)
    batch = torch.arange(len(targets))
    loss = -probabilities[batch, targets].log().mean()
    d_scores = probabilities.clone()
    d_scores[batch, targets] -= 1
    d_scores /= len(targets)
    d_hidden = torch.einsum("nc,ch->nh", d_scores, w2) * (hidden > 0)
    return loss, Gradients(w1=torch.einsum("nh,nd->hd", d_hidden, inputs), b1=d_hidden.sum(0),
                           w2=torch.einsum("nc,nh->ch", d_scores, activations), b2=d_scores.sum(0))
""",
        """\
    gradient = torch.empty_like(input)
    for index in range(input.numel()):
        step = torch.zeros_like(input)
        step.view(-1)[index] = eps
        gradient.view(-1)[index] = (float(function(input + step)) - float(function(input - step))) / (2 * eps)
    return gradient
""",
    ],
    "optimisers.py": [
        """\
            buffer = state.get("momentum_buffer")
            if self.momentum and buffer is not None:
                buffer = buffer * self.momentum + parameter.grad
            else:
                buffer = parameter.grad.clone()
            state["momentum_buffer"] = buffer
            parameter.add_(buffer, alpha=-self.lr)
""",
        """\
            t = state["step"]
            if t == 1:
                state["m"], state["v"] = torch.zeros_like(parameter), torch.zeros_like(parameter)
            state["m"].lerp_(parameter.grad, 1 - beta1)
            state["v"].mul_(beta2).addcmul_(parameter.grad, parameter.grad, value=1 - beta2)
            denominator = (state["v"] / (1 - beta2**t)).sqrt().add_(self.eps)
            parameter.addcdiv_(state["m"], denominator, value=-self.lr / (1 - beta1**t))
""",
    ],
    "sanity.py": [
        """\
    model.train(False)
    with torch.inference_mode():
        return float(loss_fn(model(images), labels))
""",
        """\
    losses = []
    model.train(True)
    while len(losses) < steps:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
        losses += [float(loss.detach())]
    return losses
""",
    ],
}

# issue 31: right variations written another way than the reference, before reading the checks
ANOTHER_ORDER = {
    "tensors.py": [
        None,
        """\
    if drop_last:
        return dataset_size // batch_size
    return -(-dataset_size // batch_size)  # ceiling division: a partial batch is a step too
""",
    ],
    "convolution.py": [
        None,
        None,
        """\
    step = kernel_size if stride is None else stride
    rows = (input.shape[2] - kernel_size) // step + 1
    columns = (input.shape[3] - kernel_size) // step + 1
    output = input.new_empty(input.shape[0], input.shape[1], rows, columns)
    for i in range(rows):
        for j in range(columns):
            window = input[:, :, i * step : i * step + kernel_size, j * step : j * step + kernel_size]
            output[:, :, i, j] = window.amax(dim=(2, 3))
    return output
""",
    ],
    "losses.py": [
        """\
    largest = input.max(dim=dim, keepdim=True).values
    return input - largest - torch.log(torch.sum(torch.exp(input - largest), dim=dim, keepdim=True))
""",
        None,
        None,
    ],
    "backprop.py": [
        None,
        """\
    point = input.detach().clone()  # nudge a copy: the caller's tensor is never touched
    flat = point.view(-1)
    gradient = torch.empty_like(point)
    for index in range(point.numel()):
        original = flat[index].item()
        flat[index] = original + eps
        above = function(point).item()
        flat[index] = original - eps
        below = function(point).item()
        flat[index] = original
        gradient.view(-1)[index] = (above - below) / (2 * eps)
    return gradient
""",
    ],
    "optimisers.py": [
        """\
            # a buffer that starts at zero holds the gradient itself after the first step, as torch's does
            buffer = state.setdefault("momentum_buffer", torch.zeros_like(parameter))
            buffer.mul_(self.momentum).add_(parameter.grad)
            parameter.sub_(self.lr * buffer)
""",
        None,
    ],
    "sanity.py": [
        None,
        """\
    model.train()
    optimizer.zero_grad()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(images), labels)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        model.zero_grad()  # the model's parameters are the optimiser's: cleared for the next step
    return losses
""",
    ],
}

VARIANTS = {
    "zero_grad after the step": ZERO_GRAD_AFTER_STEP,
    "nn.Sequential style": SEQUENTIAL,
    "functional style, x.view(-1, 320)": FUNCTIONAL,
    "log_softmax output, F.dropout(training=self.training)": LOG_SOFTMAX,
    "PyTorch examples style, reduction='sum' divided by the samples": EXAMPLES_STYLE,
    "writer.flush() and keyword arguments": FLUSHING_WRITER,
    "Dropout2d after pooling, model and images moved in predict": DROPOUT_AFTER_POOLING,
    "preprocessing exactly as the hints say": AS_THE_HINTS_SAY,
    "evaluate with F.cross_entropy, predict on the model's own device": OWN_LOSS_AND_MODEL_DEVICE,
    "concept exercises with loops and other building blocks": LOOPS_AND_BUILDING_BLOCKS,
    "concept exercises in another order of operations": ANOTHER_ORDER,
}


# issue 33: conv2d written in other correct ways, which the own-parts CNN (exercise 13) must train with too
KERNEL_POSITIONS = {
    "convolution.py": [
        None,
        """\
    images = F.pad(input, (padding, padding, padding, padding))
    out_channels, _, kernel_height, kernel_width = weight.shape
    height = conv_output_size(images.shape[2], kernel_height, stride)
    width = conv_output_size(images.shape[3], kernel_width, stride)
    output = input.new_zeros(input.shape[0], out_channels, height, width)
    for row in range(kernel_height):
        for column in range(kernel_width):
            pixels = images[:, :, row : row + stride * height : stride, column : column + stride * width : stride]
            output += torch.einsum("nchw,oc->nohw", pixels, weight[:, :, row, column])
    return output if bias is None else output + bias.view(1, -1, 1, 1)
""",
        None,
    ],
}

AS_STRIDED = {
    "convolution.py": [
        None,
        """\
    images = F.pad(input, (padding,) * 4).contiguous()
    n, c, h, w = images.shape
    o, _, kh, kw = weight.shape
    rows, columns = (h - kh) // stride + 1, (w - kw) // stride + 1
    sn, sc, sh, sw = images.stride()
    windows = images.as_strided((n, rows, columns, c, kh, kw), (sn, sh * stride, sw * stride, sc, sh, sw))
    output = (windows.reshape(n * rows * columns, -1) @ weight.reshape(o, -1).T).view(n, rows, columns, o)
    if bias is not None:
        output = output + bias
    return output.permute(0, 3, 1, 2)
""",
        None,
    ],
}
VARIANTS.update({"conv2d over the kernel positions": KERNEL_POSITIONS, "conv2d with as_strided and a matrix product": AS_STRIDED})
