"""What the demo's tests share: a small real image set and a way to ask a tab something."""

import json

import numpy as np

import gradwise as gw

#: Every STRIDE-th image of the packaged CIFAR-10 sample (whose rows are sorted by class, so
#: every class keeps its share), copied into memory: an epoch takes a fraction of a second.
STRIDE = 4


def small_cifar():
    ds = gw.data.load("cifar10-sample", progress=False)
    return gw.data.Dataset(
        name=f"cifar10-sample (every {STRIDE}th image)",
        X_train=np.array(ds.X_train[::STRIDE]),
        y_train=np.array(ds.y_train[::STRIDE]),
        X_test=np.array(ds.X_test[::STRIDE]),
        y_test=np.array(ds.y_test[::STRIDE]),
        classes=ds.classes,
        source=ds.source,
    )


class Asker:
    """Sends messages over a tab's socket and returns the reply to each (by its id); the
    messages the server pushed meanwhile (a training's progress) are kept in ``pushed``."""

    def __init__(self, ws, receive_json, send_text):
        self.ws, self._receive, self._send = ws, receive_json, send_text
        self.next_id, self.pushed = 1, []

    def __call__(self, type, **fields):
        message_id = self.next_id
        self.next_id += 1
        self._send(json.dumps({"type": type, "id": message_id, **fields}))
        return self.reply_to(message_id)

    def raw(self, text):
        """Send ``text`` as it is (a malformed message); the ``error`` it gets back."""
        self._send(text)
        return self.wait_for("error")

    def reply_to(self, message_id):
        while True:
            message = self._receive()
            if message.get("id") == message_id:
                return message
            self.pushed.append(message)

    def wait_for(self, type):
        """The next pushed message of ``type`` (earlier ones kept in ``pushed``)."""
        for i, message in enumerate(self.pushed):
            if message["type"] == type:
                return self.pushed.pop(i)
        while True:
            message = self._receive()
            if message["type"] == type:
                return message
            self.pushed.append(message)
