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

VARIANTS = {"nn.Sequential style": SEQUENTIAL, "functional style": FUNCTIONAL, "log_softmax output": LOG_SOFTMAX}
