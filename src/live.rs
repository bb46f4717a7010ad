//! The config in force — routes, templates, destinations, source tokens,
//! secrets to redact — swapped whole on reload, so a request or an
//! attempt sees either the old config or the new, never a mix.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::auth::Token;
use crate::config::{Config, Secrets};
use crate::pipeline::Pipeline;

pub struct Current {
    pub pipeline: Arc<Pipeline>,
    pub tokens: HashMap<String, Token>,
    pub secrets: Secrets,
}

impl Current {
    pub fn new(config: &Config, pipeline: Pipeline) -> Self {
        Self {
            pipeline: Arc::new(pipeline),
            tokens: config
                .settings
                .sources
                .iter()
                .map(|(name, source)| (name.clone(), Token::new(&source.token)))
                .collect(),
            secrets: config.secrets.clone(),
        }
    }
}

pub struct Live(RwLock<Arc<Current>>);

impl Live {
    pub fn new(current: Current) -> Self {
        Self(RwLock::new(Arc::new(current)))
    }

    pub fn current(&self) -> Arc<Current> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn replace(&self, current: Current) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(current);
    }
}
