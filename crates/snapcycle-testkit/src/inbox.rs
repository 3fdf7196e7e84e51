//! An SNS topic whose messages land in an SQS queue on moto, so a test can read the failure
//! e-mail's subject and body exactly as a subscriber would receive them.

use aws_config::SdkConfig;

/// A topic and the queue subscribed to it.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The topic the code under test publishes to.
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

/// One message as SNS delivered it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The subject line.
    pub subject: String,
    /// The body.
    pub body: String,
}

impl Inbox {
    /// Creates the topic, the queue and the subscription.
    pub async fn create(sdk: &SdkConfig, name: &str) -> Inbox {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let topic_arn = sns.create_topic().name(name).send().await.unwrap().topic_arn().unwrap().to_owned();
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{name}-inbox"))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        sns.subscribe().topic_arn(&topic_arn).protocol("sqs").endpoint(queue_arn).send().await.unwrap();
        Inbox { topic_arn, queue_url, sqs }
    }

    /// Every message delivered so far (the SNS envelope unwrapped).
    pub async fn messages(&self) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let got =
                self.sqs.receive_message().queue_url(&self.queue_url).max_number_of_messages(10).send().await.unwrap();
            if got.messages().is_empty() {
                return out;
            }
            for m in got.messages() {
                let envelope: serde_json::Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
                out.push(Message {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                    body: envelope["Message"].as_str().unwrap_or_default().to_owned(),
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}
