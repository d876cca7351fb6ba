//! The `chatlet` command: `train` a bot file into a model, `check` a bot file, chat with a bot in the
//! terminal (`shell`), and `serve` the demo page, the widget and models.

use anyhow::{Context, Result, bail};
use chatlet_engine::{Model, TrainOptions, bot};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "chatlet",
    version,
    about = "Offline-first chatbots: train a bot, chat with it, serve it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a bot file (YAML) into a model file.
    Train {
        /// The bot file.
        bot: PathBuf,
        /// Where to write the model (default: the bot file's name with `.chatlet`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Seed for training; the same seed and bot give the same model.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Check a bot file and list every problem with its line and column.
    Check {
        /// The bot file.
        bot: PathBuf,
    },
    /// Chat with a bot in the terminal (a model file, or a bot file trained on the fly).
    Shell {
        /// A `.chatlet` model or a bot file.
        bot_or_model: PathBuf,
        /// Show the intent, confidence and runner-up intents with each reply.
        #[arg(long)]
        verbose: bool,
    },
    /// Serve the demo page, the widget build (`pkg/`), `www/` and models over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Folder with `index.html`, `pkg/` and `www/`.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Folder of trained models, served under `/models/`.
        #[arg(long, default_value = "target/models")]
        models: PathBuf,
    },
}

fn main() {
    if let Err(err) = run(Cli::parse()) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { bot, output, seed } => {
            let output = output.unwrap_or_else(|| bot.with_extension("chatlet"));
            train(&bot, &output, seed)
        }
        Command::Check { bot } => {
            let checked = load_bot(&bot)?;
            println!("{}: ok ({} intents)", bot.display(), checked.intents.len());
            Ok(())
        }
        Command::Shell {
            bot_or_model,
            verbose,
        } => shell(&bot_or_model, verbose),
        Command::Serve { addr, root, models } => serve(&addr, root, models),
    }
}

fn load_bot(path: &Path) -> Result<chatlet_engine::Bot> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read bot file {}", path.display()))?;
    match bot::parse(&path.display().to_string(), &text) {
        Ok(bot) => Ok(bot),
        Err(diagnostics) => {
            let count = diagnostics.errors().len();
            bail!(
                "{diagnostics}\n{count} problem{} in {}",
                if count == 1 { "" } else { "s" },
                path.display()
            )
        }
    }
}

fn train_model(path: &Path, seed: Option<u64>) -> Result<Model> {
    let bot = load_bot(path)?;
    let mut options = TrainOptions::default();
    if let Some(seed) = seed {
        options.seed = seed;
    }
    Model::train(&bot, &options).with_context(|| format!("cannot train {}", path.display()))
}

fn train(bot: &Path, output: &Path, seed: Option<u64>) -> Result<()> {
    let started = Instant::now();
    eprint!("training {} ... ", bot.display());
    let model = train_model(bot, seed)?;
    let bytes = model.to_bytes();
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Write to a temporary file and rename, so a failed write never leaves a half model behind.
    let partial = output.with_extension("chatlet.partial");
    std::fs::write(&partial, &bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    let classifier = model.classifier();
    eprintln!(
        "done in {:.2?}\n{}: {} intents, {} features, out-of-scope threshold {:.2}, {} bytes",
        started.elapsed(),
        output.display(),
        classifier.labels().len(),
        classifier.feature_count(),
        classifier.threshold(),
        bytes.len()
    );
    Ok(())
}

fn shell(path: &Path, verbose: bool) -> Result<()> {
    let model = if path.extension().is_some_and(|e| e == "chatlet") {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
        Model::from_bytes(&bytes)
            .with_context(|| format!("cannot load model {}", path.display()))?
    } else {
        train_model(path, None)?
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{} — type a message, Ctrl-D to quit", model.name())?;
    if let Some(welcome) = model.welcome() {
        writeln!(stdout, "bot> {welcome}")?;
    }
    let mut turn = 0u64;
    loop {
        write!(stdout, "you> ")?;
        stdout.flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            writeln!(stdout)?;
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let reply = model.respond(line.trim_end_matches(['\r', '\n']), turn);
        turn += 1;
        writeln!(stdout, "bot> {}", reply.text)?;
        if verbose {
            let ranking: Vec<String> = reply
                .ranking
                .iter()
                .map(|(i, c)| format!("{i} {c:.2}"))
                .collect();
            writeln!(
                stdout,
                "     [{}] {}",
                reply.intent.as_deref().unwrap_or("out of scope"),
                ranking.join(", ")
            )?;
        }
    }
}

fn serve(addr: &str, site_root: PathBuf, models: PathBuf) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    if !site_root.join("index.html").is_file() {
        bail!(
            "{} has no index.html; pass --root with the chatlet project folder",
            site_root.display()
        );
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        // Tests and `cargo xtask demo` wait for this exact line.
        println!("chatlet serving http://{local}/");
        chatlet_server::serve(listener, chatlet_server::AppState { site_root, models }).await
    })
}
