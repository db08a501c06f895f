"""SQS: send messages by queue name or URL. botocore errors surface as they are."""
from __future__ import annotations

import threading
from typing import Any, Optional


class SqsQueues:
    def __init__(self, region: str) -> None:
        self._region = region
        self._client: Any = None
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # imported where used: keeps the API's cold start light
            self._client = boto3.client("sqs", region_name=self._region)
        return self._client

    def url(self, name: str) -> str:
        with self._lock:
            if name not in self._urls:
                self._urls[name] = self.client.get_queue_url(QueueName=name)["QueueUrl"]
            return self._urls[name]

    def send(self, *, body: str, queue_url: Optional[str] = None, queue_name: Optional[str] = None,
             correlation_id: Optional[str] = None) -> str:
        url = queue_url or self.url(queue_name or "")
        attributes = {}
        if correlation_id:
            attributes["correlation_id"] = {"DataType": "String", "StringValue": correlation_id}
        answer = self.client.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        return answer["MessageId"]
