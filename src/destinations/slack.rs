//! Slack incoming webhooks: a Block Kit body rendered with Slack escaping,
//! POSTed to the webhook URL (which is itself the credential).

use futures_util::future::BoxFuture;

use super::{Destination, HttpRequest, HttpSender, Message, Rendered, SendReport};
use crate::config::ConfigError;
use crate::render::{Format, RenderError, Renderer, TemplateId};

pub struct SlackDestination {
    webhook_url: String,
    template: TemplateId,
    sender: HttpSender,
}

impl SlackDestination {
    pub fn new(
        key: &str,
        webhook_url: &str,
        template: &str,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        super::chat::http_url(&format!("{key}.webhook_url"), webhook_url)?;
        let template = super::chat::json_template(key, template, Format::SlackJson, renderer)?;
        Ok(Self {
            webhook_url: webhook_url.to_owned(),
            template,
            sender,
        })
    }
}

impl Destination for SlackDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        Ok(Rendered::Http(HttpRequest {
            method: reqwest::Method::POST,
            url: self.webhook_url.clone(),
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: renderer.render(&self.template, &message.context)?,
            expected_status: Vec::new(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(self.sender.send_rendered(rendered))
    }
}
