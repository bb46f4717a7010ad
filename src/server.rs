//! `serve`: the store, the dispatcher and the HTTP server, assembled from
//! one config.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, dev::Server, web};
use tokio::task::JoinSet;

use crate::config::{Config, ConfigError};
use crate::dispatch::{Dispatcher, Wakers};
use crate::ingest::{self, BodyLimits, IngestState};
use crate::pipeline::Pipeline;
use crate::store::{ServeLock, Store};

pub struct Application {
    port: u16,
    server: Server,
    /// Dispatcher loops; dropped (and so stopped) with the application.
    _dispatch: JoinSet<()>,
    _lock: ServeLock,
    /// Cron jobs, when any are configured; dropped with the application.
    _jobs: Option<tokio_cron_scheduler::JobScheduler>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.require_source_tokens()?;
        let pipeline = Arc::new(Pipeline::build(&config)?);
        let jobs = crate::jobs::build(&config.settings, |name| pipeline.destinations.contains_key(name))
            .map_err(|e| config.error(e))?;
        let settings = &config.settings;
        let store = Store::open(&settings.storage.url, &config.base_dir)
            .await
            .map_err(|e| config.error(ConfigError::key("storage.url", e.to_string())))?;
        let lock = store
            .lock_for_serving()
            .map_err(|e| config.error(ConfigError::key("storage.url", e.to_string())))?;
        let released = store.release_leases().await?;
        if released > 0 {
            tracing::info!(released, "resuming deliveries left in flight by the last run");
        }

        let wakers = Wakers::new(pipeline.destinations.keys());
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::clone(&pipeline),
            config.secrets.clone(),
            settings.delivery.clone(),
            wakers.clone(),
        );
        let dispatch = dispatcher.spawn();
        let jobs = crate::jobs::start(jobs, store.clone(), Arc::clone(&pipeline)).await?;

        let limits = BodyLimits {
            max_body: settings.server.max_body.as_u64(),
            max_decoded: settings.server.max_decompressed_body.as_u64(),
        };
        let ingest_state = web::Data::new(IngestState::new(
            &settings.sources,
            Arc::clone(&pipeline),
            store.clone(),
            wakers,
            limits,
        ));
        let store_data = web::Data::new(store);
        let listener = TcpListener::bind(&settings.server.listen).map_err(|e| {
            config.error(ConfigError::key(
                "server.listen",
                format!("cannot listen on {}: {e}", settings.server.listen),
            ))
        })?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(ingest_state.clone())
                .app_data(store_data.clone())
                .configure(ingest::configure)
                .configure(crate::admin::configure)
                .default_service(web::to(ingest::not_found))
        })
        .workers(settings.server.workers.get())
        .listen(listener)?
        .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
        .run();
        tracing::info!(listen = %settings.server.listen, port, "callbridge is listening");
        Ok(Self {
            port,
            server,
            _dispatch: dispatch,
            _jobs: jobs,
            _lock: lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
