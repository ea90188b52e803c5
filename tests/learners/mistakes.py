"""Typical learner mistakes, each with the exercise and hint the grader must answer with."""

from typing import NamedTuple


class Mistake(NamedTuple):
    name: str
    exercise: int
    module: str
    old: str
    new: str
    hint: str


MISTAKES = [
    Mistake("softmax output", 1, "model.py",
            "logits = self.fc2(x)", "logits = F.softmax(self.fc2(x), dim=1)", "logits"),
    Mistake("wrong flatten size", 1, "model.py",
            "self.fc1 = nn.Linear(FLATTENED_FEATURES, 50)", "self.fc1 = nn.Linear(500, 50)", "flatten"),
    Mistake("flatten loses the batch dimension", 1, "model.py",
            "x = torch.flatten(x, 1)", "x = torch.flatten(x)", "flatten"),
    Mistake("dropout left on at test time", 1, "model.py",
            "x = self.fc_drop(F.relu(self.fc1(x)))", "x = F.dropout(F.relu(self.fc1(x)), p=0.5)", "dropout"),
    Mistake("missing zero_grad", 2, "engine.py",
            "        optimizer.zero_grad()\n", "", "zero_grad"),
    Mistake("forgetting train mode", 2, "engine.py",
            "    model.train()\n", "", "train_mode"),
    Mistake("forgetting eval mode", 2, "engine.py",
            "    model.eval()\n", "", "eval_mode"),
    Mistake("gradients tracked while testing", 2, "engine.py",
            "with torch.no_grad():", "if True:", "no_grad"),
    Mistake("accuracy divided by the number of batches", 2, "engine.py",
            "            total += len(labels)", "            total += 1", "accuracy"),
    Mistake("loss summed instead of averaged", 2, "engine.py",
            "return Evaluation(loss=loss_sum / total,", "return Evaluation(loss=loss_sum,", "loss_average"),
    Mistake("loss averaged per batch", 2, "engine.py",
            "loss_sum += loss_fn(outputs, labels).item() * len(labels)",
            "loss_sum += loss_fn(outputs, labels).item()", "loss_average"),
    Mistake("argmax over the wrong dim", 2, "engine.py",
            "correct += (outputs.argmax(dim=1) == labels)", "correct += (outputs.argmax(dim=0) == labels)",
            "argmax"),
    Mistake("TensorBoard train tag typo", 3, "monitor.py",
            '"Loss/Train"', '"Loss/train"', "train_tag"),
    Mistake("TensorBoard test tag typo", 3, "monitor.py",
            '"Accuracy/Test"', '"accuracy/test"', "test_tags"),
    Mistake("steps logged with the epoch index", 3, "monitor.py",
            "step = epoch * batches_per_epoch + batch_index", "step = epoch", "global_step"),
    Mistake("steps logged with the batch index", 3, "monitor.py",
            "step = epoch * batches_per_epoch + batch_index", "step = batch_index", "global_step"),
    Mistake("argmax over the wrong dim in predict", 4, "inference.py",
            "digits=probabilities.argmax(dim=1)", "digits=probabilities.argmax(dim=0)", "digits"),
    Mistake("outputs used as probabilities", 4, "inference.py",
            'else F.softmax(outputs, dim=1)', "else outputs", "probabilities"),
    Mistake("no inversion of a dark-on-light drawing", 5, "preprocess.py",
            "if paper > 0.5:", "if False:", "invert"),
    Mistake("no centring", 5, "preprocess.py",
            "field = place_in_field(digit)",
            "field = np.zeros((FIELD, FIELD), np.float32)\n"
            "    field[: digit.shape[0], : digit.shape[1]] = digit", "centre"),
    Mistake("no crop to the ink", 5, "preprocess.py",
            "    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]\n", "", "crop"),
    Mistake("not normalised", 5, "preprocess.py",
            "torch.from_numpy((field - MNIST_MEAN) / MNIST_STD)", "torch.from_numpy(field)", "normalise"),
]
