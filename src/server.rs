//! `serve`: the store, the dispatcher and the HTTP server, assembled from
//! one config.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, dev::Server, web};

use crate::admin::api::AdminState;
use crate::auth::Token;
use crate::config::{Config, ConfigError};
use crate::dispatch::{Dispatcher, Wakers};
use crate::ingest::{self, BodyLimits, IngestState};
use crate::live::{Current, Live};
use crate::metrics::{Metrics, MetricsState};
use crate::pipeline::Pipeline;
use crate::reload::Reloader;
use crate::store::{ServeLock, Store};

pub struct Application {
    port: u16,
    server: Server,
    dispatcher: Arc<Dispatcher>,
    store: Store,
    shutdown_timeout: std::time::Duration,
    _lock: ServeLock,
    /// Cron jobs; they stop when the application is dropped.
    _jobs: Arc<crate::jobs::Jobs>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.require_source_tokens()?;
        let pipeline = Pipeline::build(&config)?;
        let jobs = crate::jobs::build(&config.settings, |name| pipeline.destinations.contains_key(name))
            .map_err(|e| config.error(e))?;
        for warning in crate::sample::check(&config, &pipeline).map_err(|e| config.error(e))? {
            tracing::warn!(file = %config.file.display(), "{warning}");
        }
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

        let metrics = Arc::new(Metrics::default());
        let configured = pipeline.destinations.keys().cloned().collect();
        let dead = store
            .dead_letter_unconfigured(configured, crate::store::now_ms())
            .await?;
        metrics.dead_lettered(&dead);
        if !dead.is_empty() {
            tracing::warn!(
                dead = dead.len(),
                "pending deliveries to destinations no longer configured were dead-lettered"
            );
        }

        let live = Arc::new(Live::new(Current::new(&config, pipeline)));
        let wakers = Wakers::default();
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::clone(&live),
            settings.delivery.clone(),
            wakers.clone(),
            Arc::clone(&metrics),
        );
        dispatcher.start().await;
        let jobs = Arc::new(crate::jobs::Jobs::start(jobs, store.clone(), Arc::clone(&live)).await?);
        let reloader = Arc::new(Reloader::new(
            &config,
            Arc::clone(&live),
            Arc::clone(&dispatcher),
            Arc::clone(&jobs),
            store.clone(),
            Arc::clone(&metrics),
        ));
        reloader.on_sighup()?;

        let limits = BodyLimits {
            max_body: settings.server.max_body.as_u64(),
            max_decoded: settings.server.max_decompressed_body.as_u64(),
            timeout: settings.server.body_timeout,
        };
        let ingest_state = web::Data::new(IngestState::new(
            Arc::clone(&live),
            store.clone(),
            wakers,
            limits,
            Arc::clone(&metrics),
        ));
        let metrics_state = web::Data::new(MetricsState {
            metrics,
            store: store.clone(),
            live: Arc::clone(&live),
        });
        let store_data = web::Data::new(store.clone());
        let admin_token = settings.admin.token.trim();
        let admin_state = web::Data::new(AdminState {
            token: (!admin_token.is_empty()).then(|| Token::new(admin_token)),
            store: store.clone(),
            reloader,
            live,
        });
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
                .app_data(metrics_state.clone())
                .app_data(admin_state.clone())
                .configure(crate::admin::api::configure)
                .configure(crate::metrics::configure)
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
            dispatcher,
            store,
            shutdown_timeout: settings.server.shutdown_timeout,
            _jobs: jobs,
            _lock: lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then stops in order: no new calls
    /// (actix finishes the requests it has), no new claims, attempts in
    /// flight finished and recorded within `server.shutdown_timeout`, and
    /// what is left unfinished handed back to the queue.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await?;
        tracing::info!("stopping: letting deliveries in flight finish");
        let unfinished = self.dispatcher.stop(self.shutdown_timeout).await;
        match self.store.release_leases().await {
            Ok(released) if unfinished > 0 || released > 0 => {
                tracing::warn!(
                    unfinished,
                    released,
                    "stopped with deliveries unfinished: they are sent on the next start"
                );
            }
            Ok(_) => tracing::info!("stopped: nothing in flight"),
            Err(error) => tracing::error!(%error, "releasing leases failed: the next start releases them"),
        }
        Ok(())
    }
}
