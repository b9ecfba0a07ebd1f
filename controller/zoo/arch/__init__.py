"""Architecture definitions: functions `(net) -> logits` written against `controller.zoo.net.Net`."""
