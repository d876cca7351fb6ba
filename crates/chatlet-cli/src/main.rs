//! The `chatlet` command: `train` a bot file or data set into a model, `check` a bot file,
//! `predict` and `test` with a model, chat with a bot in the terminal (`shell`), and `serve` the
//! demo page, the widget and models.

mod dataset;
mod evaluation_report;
mod importers;
mod progress_bar;

use anyhow::{Context, Result, bail};
use chatlet_engine::{Model, ReferenceTime, TrainOptions, bot};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// mimalloc rather than the system allocator: the server allocates on its async threads and
/// frees on its history writer (and back), which glibc's per-thread caches handle poorly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Train a bot file (YAML) or a JSONL data set into a model file.
    Train {
        /// The bot file, or a JSONL data set (`{"text", "intent", "entities"}` per line).
        input: PathBuf,
        /// Where to write the model (default: the input's name with `.chatlet`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// A JSONL validation set to calibrate confidence and pick the out-of-scope threshold
        /// (default: held-out parts of the training data).
        #[arg(long)]
        valid: Option<PathBuf>,
        /// Seed for training; the same seed and data give the same model.
        #[arg(long)]
        seed: Option<u64>,
        /// Size budget: keep at most this many intent weights (smaller model, maybe less accurate).
        #[arg(long)]
        max_weights: Option<usize>,
        /// Drop intent weights below this fraction of the largest (bigger = smaller, faster model).
        #[arg(long)]
        prune_below: Option<f32>,
    },
    /// Classify JSONL lines with a `text` field (from FILE or stdin); one JSON line out for each.
    Predict {
        /// The trained model.
        #[arg(long)]
        model: PathBuf,
        /// Reference time for dates (`YYYY-MM-DDTHH:MM`; default: now, UTC).
        #[arg(long)]
        now: Option<String>,
        /// JSONL input; stdin when absent.
        file: Option<PathBuf>,
    },
    /// Score a model on a labelled JSONL test set, or run conversation tests (`--stories`).
    Test {
        /// The trained model (or a bot file, trained on the fly).
        #[arg(long)]
        model: PathBuf,
        /// The labelled JSONL test set.
        #[arg(required_unless_present = "stories")]
        file: Option<PathBuf>,
        /// A stories file: dialogues the bot must hold (YAML).
        #[arg(long, conflicts_with = "file")]
        stories: Option<PathBuf>,
        /// Also write an HTML report with a confusion-matrix heat map.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Check a bot file (or every `.yaml` bot file in a folder) and list every problem with
    /// its file, line and column.
    Check {
        /// The bot file or folder.
        bot: PathBuf,
    },
    /// Benchmark a model: write its predictions on a test (and validation) set in the peer
    /// harness's format and measure the latency of one utterance at a time.
    Bench {
        /// The trained model.
        #[arg(long)]
        model: PathBuf,
        /// The labelled JSONL test set.
        #[arg(long)]
        test: PathBuf,
        /// A validation set whose predictions are written too (to pick a threshold).
        #[arg(long)]
        valid: Option<PathBuf>,
        /// Folder for `test_preds.jsonl` / `valid_preds.jsonl`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert an FAQ spreadsheet (CSV/TSV "question,answer"), a Rasa NLU YAML file or an nlp.js
    /// corpus JSON into a chatlet bot file.
    Import {
        /// The file to convert.
        file: PathBuf,
        /// Where to write the bot file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
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
        /// The bot (a `.chatlet` model) that answers `POST /api/v1/chat`.
        #[arg(long)]
        model: Option<PathBuf>,
        /// SQLite file for conversation history (created if missing, schema migrated on start).
        #[arg(long, default_value = "chatlet-history.db")]
        db: PathBuf,
        /// Keep history in memory instead (the 100,000 most recently active sessions; lost when
        /// the server stops): for trying a bot out, and for tests.
        #[arg(long, conflicts_with = "db")]
        history_in_memory: bool,
        /// An admin API key (chat, history, metrics); also read from CHATLET_ADMIN_KEY.
        #[arg(long, env = "CHATLET_ADMIN_KEY", hide_env_values = true)]
        admin_key: Vec<String>,
        /// A public API key for web pages (chat only, from --allow-origin); also CHATLET_PUBLIC_KEY.
        #[arg(long, env = "CHATLET_PUBLIC_KEY", hide_env_values = true)]
        public_key: Vec<String>,
        /// An origin (`https://shop.example`) the public keys may be used from; repeatable.
        #[arg(long)]
        allow_origin: Vec<String>,
        /// Requests per second one client address may make (bursts of three times as many).
        #[arg(long, default_value_t = 10.0)]
        rate_per_address: f64,
        /// Requests per second one API key may make (bursts of twice as many).
        #[arg(long, default_value_t = 200.0)]
        rate_per_key: f64,
        /// An action answered by a webhook, as NAME=https://host/path (or http://); repeatable.
        /// The server POSTs the action's slots there (see docs/protocol.md, "Skills").
        #[arg(long, value_name = "NAME=URL")]
        skill: Vec<String>,
        /// A PEM file of CA certificates to trust for https webhooks besides the public roots
        /// (for webhooks behind a private CA).
        #[arg(long, value_name = "FILE")]
        skill_ca: Option<PathBuf>,
        /// Sent to the webhooks as `Authorization: Bearer <token>`; also CHATLET_SKILL_TOKEN.
        #[arg(long, env = "CHATLET_SKILL_TOKEN", hide_env_values = true)]
        skill_token: Option<String>,
        /// Webhook calls in flight at once.
        #[arg(long, default_value_t = 32)]
        skill_concurrency: usize,
        /// Webhook calls that may wait for a free slot; beyond them the action's fallback
        /// answers at once.
        #[arg(long, default_value_t = 256)]
        skill_queue: usize,
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
        Command::Train {
            input,
            output,
            valid,
            seed,
            max_weights,
            prune_below,
        } => {
            let output = output.unwrap_or_else(|| input.with_extension("chatlet"));
            let mut options = TrainOptions::default();
            options.seed = seed.unwrap_or(options.seed);
            options.max_weights = max_weights.unwrap_or(options.max_weights);
            options.prune_below = prune_below.unwrap_or(options.prune_below);
            train(&input, &output, valid.as_deref(), &options)
        }
        Command::Predict { model, file, now } => {
            predict(&model, file.as_deref(), &reference_time(now.as_deref())?)
        }
        Command::Bench {
            model,
            test,
            valid,
            out,
        } => bench(&model, &test, valid.as_deref(), &out),
        Command::Test {
            model,
            file,
            stories,
            html,
        } => match (file, stories) {
            (_, Some(stories)) => test_stories(&model, &stories),
            (Some(file), None) => test(&model, &file, html.as_deref()),
            (None, None) => bail!("give a test set FILE or --stories FILE"),
        },
        Command::Check { bot } => check(&bot),
        Command::Import { file, output } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let name = file.display().to_string();
            let format = importers::Format::detect(&name, &text)?;
            let bot = importers::import(&name, &text, format)?;
            match output {
                Some(path) => std::fs::write(&path, bot)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{bot}"),
            }
            Ok(())
        }
        Command::Shell {
            bot_or_model,
            verbose,
        } => shell(&bot_or_model, verbose),
        Command::Serve {
            addr,
            root,
            models,
            model,
            db,
            history_in_memory,
            admin_key,
            public_key,
            allow_origin,
            rate_per_address,
            rate_per_key,
            skill,
            skill_ca,
            skill_token,
            skill_concurrency,
            skill_queue,
        } => serve(
            &addr,
            root,
            models,
            ApiSettings {
                model,
                db: (!history_in_memory).then_some(db),
                keys: chatlet_server::ApiKeys {
                    admin: admin_key,
                    public: public_key,
                    allowed_origins: allow_origin,
                },
                limits: chatlet_server::RateLimits {
                    per_key: (rate_per_key, 2.0 * rate_per_key),
                    per_address: (rate_per_address, 3.0 * rate_per_address),
                },
                skills: chatlet_server::SkillSettings {
                    webhooks: skill_webhooks(&skill)?,
                    extra_roots_pem: skill_ca
                        .map(|path| {
                            std::fs::read(&path).with_context(|| {
                                format!("cannot read --skill-ca {}", path.display())
                            })
                        })
                        .transpose()?,
                    token: skill_token,
                    concurrency: skill_concurrency,
                    queue: skill_queue,
                    ..chatlet_server::SkillSettings::default()
                },
            },
        ),
    }
}

fn check(path: &Path) -> Result<()> {
    // A folder with a bot.yaml is one bot; any other folder holds one bot per file.
    let files: Vec<PathBuf> = if path.is_dir() && !is_bot_folder(path) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read folder {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut broken = 0;
    for file in &files {
        match load_bot(file) {
            Ok(bot) => println!("{}: ok ({} intents)", file.display(), bot.intents.len()),
            Err(err) => {
                broken += 1;
                eprintln!("{err:#}");
            }
        }
    }
    if broken > 0 {
        bail!("{broken} of {} bot files have problems", files.len());
    }
    Ok(())
}

/// True for a folder that holds one bot split over several files (it has a `bot.yaml`).
fn is_bot_folder(path: &Path) -> bool {
    path.is_dir() && path.join("bot.yaml").is_file()
}

/// The files of a bot: the file itself, or a bot folder's `.yaml` files with `bot.yaml` first
/// (stories files are tests, not part of the bot).
fn bot_sources(path: &Path) -> Result<Vec<(String, String)>> {
    let files: Vec<PathBuf> = if is_bot_folder(path) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read folder {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name.ends_with(".yaml") || name.ends_with(".yml")) && !name.contains("stories")
            })
            .collect();
        files.sort_by_key(|p| (p.file_name().is_none_or(|n| n != "bot.yaml"), p.clone()));
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read bot file {}", file.display()))?;
            Ok((file.display().to_string(), text))
        })
        .collect()
}

fn load_bot(path: &Path) -> Result<chatlet_engine::Bot> {
    let sources = bot_sources(path)?;
    let files: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    match bot::parse_files(&files) {
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

/// Trains and returns the model with the seconds spent in training proper (files read before).
fn train_model(path: &Path, valid: Option<&Path>, options: &TrainOptions) -> Result<(Model, f64)> {
    let mut bar = progress_bar::ProgressBar::new(&format!("training {}", path.display()));
    let model = if dataset::is_dataset(path) {
        let train = dataset::read(path)?;
        let valid = valid.map(dataset::read).transpose()?;
        let name = path
            .parent()
            .and_then(Path::file_name)
            .or(path.file_stem())
            .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned());
        let languages = vec![guess_language(&train).to_owned()];
        let started = Instant::now();
        Model::from_corpus(
            &name,
            &languages,
            &train,
            valid.as_deref(),
            options,
            &mut |p| bar.show(p.done, p.total),
        )
        .map(|m| (m, started.elapsed().as_secs_f64()))
    } else {
        if valid.is_some() {
            bail!(
                "--valid works with JSONL data sets; a bot file picks its threshold by cross-validation"
            );
        }
        let bot = load_bot(path)?;
        let started = Instant::now();
        Model::train(&bot, options, &mut |p| bar.show(p.done, p.total))
            .map(|m| (m, started.elapsed().as_secs_f64()))
    };
    bar.finish();
    model.with_context(|| format!("cannot train {}", path.display()))
}

/// `zh` when at least a fifth of the characters are CJK, else `en`.
fn guess_language(utterances: &[chatlet_engine::Utterance]) -> &'static str {
    let (mut cjk, mut all) = (0usize, 0usize);
    for u in utterances.iter().take(500) {
        for c in u.text.chars() {
            all += 1;
            cjk += usize::from(chatlet_engine::text::is_cjk(c));
        }
    }
    if cjk * 5 > all { "zh" } else { "en" }
}

fn load_model(path: &Path) -> Result<Model> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    Model::from_bytes(&bytes).with_context(|| format!("cannot load model {}", path.display()))
}

fn train(input: &Path, output: &Path, valid: Option<&Path>, options: &TrainOptions) -> Result<()> {
    let (model, seconds) = train_model(input, valid, options)?;
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
        "trained in {seconds:.2} s\n{}: {} intents, {} features, {} weights, temperature {:.2}, out-of-scope threshold {:.3}, {} bytes",
        output.display(),
        classifier.labels().len(),
        classifier.feature_count(),
        classifier.weight_count(),
        classifier.temperature(),
        classifier.threshold(),
        bytes.len()
    );
    Ok(())
}

/// The reference time for resolving dates: `--now`, or the current UTC time.
fn reference_time(now: Option<&str>) -> Result<ReferenceTime> {
    if let Some(now) = now {
        return ReferenceTime::parse(now)
            .with_context(|| format!("--now: expected YYYY-MM-DDTHH:MM, got {now:?}"));
    }
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    Ok(ReferenceTime {
        date: chatlet_engine::Date::from_days((seconds / 86_400) as i64),
        hour: (seconds % 86_400 / 3600) as u32,
        minute: (seconds % 3600 / 60) as u32,
    })
}

fn predict(model: &Path, file: Option<&Path>, now: &ReferenceTime) -> Result<()> {
    let model = load_model(model)?;
    let input: Box<dyn BufRead> = match file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let source = file.map_or_else(|| "stdin".to_owned(), |p| p.display().to_string());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {source}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{source}:{}", i + 1);
        let value: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("{}: not a JSON object", at()))?;
        let utterance = dataset::utterance(&value, true).with_context(at)?;
        let understood = model.understand(&utterance.text, Some(now));
        serde_json::to_writer(&mut out, &prediction_json(&utterance.text, &understood))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn prediction_json(text: &str, u: &chatlet_engine::Understanding) -> serde_json::Value {
    serde_json::json!({
        "text": text,
        "intent": u.intent.as_deref().unwrap_or(dataset::OUT_OF_SCOPE),
        "confidence": u.confidence,
        "ranking": u.ranking.iter().map(|(intent, confidence)| serde_json::json!({
            "intent": intent, "confidence": confidence
        })).collect::<Vec<_>>(),
        "entities": u.entities.iter().map(|m| serde_json::json!({
            "start": m.start, "end": m.end, "entity": m.entity, "value": m.value
        })).collect::<Vec<_>>(),
    })
}

fn bench(model_path: &Path, test: &Path, valid: Option<&Path>, out: &Path) -> Result<()> {
    let model = load_model(model_path)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let test_set = dataset::read(test)?;
    // Entity spans are written only for data sets that annotate entities (as the peers do), so
    // intent-only sets get no entity score.
    let with_spans = test_set.iter().any(|u| !u.entities.is_empty());
    let write_predictions = |set: &[chatlet_engine::Utterance], file: &str| -> Result<()> {
        let mut lines = String::new();
        for u in set {
            let understood = model.understand(&u.text, None);
            let spans: Vec<serde_json::Value> = understood
                .entities
                .iter()
                .map(|m| serde_json::json!([m.start, m.end, m.entity]))
                .collect();
            let mut line = serde_json::json!({
                "pred": understood.best.as_deref().unwrap_or(dataset::OUT_OF_SCOPE),
                "conf": understood.confidence,
            });
            if with_spans {
                line["spans"] = serde_json::Value::Array(spans);
            }
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        let path = out.join(file);
        std::fs::write(&path, lines).with_context(|| format!("cannot write {}", path.display()))
    };
    write_predictions(&test_set, "test_preds.jsonl")?;
    if let Some(valid) = valid {
        write_predictions(&dataset::read(valid)?, "valid_preds.jsonl")?;
    }
    // One utterance at a time, after 20 warm-up calls, as the peer harness measures.
    for u in test_set.iter().take(20) {
        std::hint::black_box(model.understand(&u.text, None));
    }
    let mut micros: Vec<f64> = test_set
        .iter()
        .map(|u| {
            let started = Instant::now();
            std::hint::black_box(model.understand(std::hint::black_box(&u.text), None));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        micros
            .get(((micros.len() as f64 * q) as usize).min(micros.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{}",
        serde_json::json!({
            "latency_us_median": at(0.5),
            "latency_us_p90": at(0.9),
            "utterances": micros.len(),
        })
    );
    Ok(())
}

fn test_stories(model_path: &Path, stories_path: &Path) -> Result<()> {
    let model = if model_path.extension().is_some_and(|e| e == "chatlet") {
        load_model(model_path)?
    } else {
        train_model(model_path, None, &TrainOptions::default())?.0
    };
    let text = std::fs::read_to_string(stories_path)
        .with_context(|| format!("cannot read stories {}", stories_path.display()))?;
    let stories = chatlet_engine::stories::parse(&stories_path.display().to_string(), &text)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let failures = chatlet_engine::stories::run(&model, &stories);
    for f in &failures {
        let at = f.at.map_or_else(String::new, |at| {
            format!("{}:{}:{}: ", stories_path.display(), at.line, at.column)
        });
        println!("FAILED {at}story `{}`: {}", f.story, f.message);
    }
    println!(
        "stories: {} passed, {} failed",
        stories.len() - failures.len(),
        failures.len()
    );
    if !failures.is_empty() {
        bail!("{} of {} stories failed", failures.len(), stories.len());
    }
    Ok(())
}

fn test(model_path: &Path, file: &Path, html: Option<&Path>) -> Result<()> {
    let model = load_model(model_path)?;
    let gold = dataset::read(file)?;
    let predicted: Vec<chatlet_engine::evaluation::Predicted> = gold
        .iter()
        .map(|u| {
            let understood = model.understand(&u.text, None);
            chatlet_engine::evaluation::Predicted {
                intent: understood.intent,
                best: understood.best,
                entities: understood.entities,
            }
        })
        .collect();
    let evaluation = chatlet_engine::evaluation::evaluate(&gold, &predicted);
    print!("{}", evaluation_report::text(&evaluation));
    if let Some(html) = html {
        let title = format!("{} on {}", model_path.display(), file.display());
        std::fs::write(html, evaluation_report::html(&title, &evaluation))
            .with_context(|| format!("cannot write {}", html.display()))?;
        println!("report: {}", html.display());
    }
    Ok(())
}

fn shell(path: &Path, verbose: bool) -> Result<()> {
    let model = if path.extension().is_some_and(|e| e == "chatlet") {
        load_model(path)?
    } else {
        train_model(path, None, &TrainOptions::default())?.0
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{} — type a message, Ctrl-D to quit", model.name())?;
    if let Some(welcome) = model.welcome() {
        writeln!(stdout, "bot> {welcome}")?;
    }
    let mut conversation = chatlet_engine::Conversation::default();
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
        let now = reference_time(None)?;
        let text = line.trim_end_matches(['\r', '\n']);
        let mut turn = model.converse(&mut conversation, text, &now);
        if verbose {
            let understood = model.understand(text, Some(&now));
            let ranking: Vec<String> = understood
                .ranking
                .iter()
                .take(3)
                .map(|(i, c)| format!("{i} {c:.2}"))
                .collect();
            let entities: Vec<String> = understood
                .entities
                .iter()
                .map(|m| format!("{}={}", m.entity, m.value))
                .collect();
            writeln!(
                stdout,
                "     [{}] {} {}",
                understood.intent.as_deref().unwrap_or("out of scope"),
                ranking.join(", "),
                entities.join(" ")
            )?;
        }
        loop {
            for message in &turn.messages {
                writeln!(stdout, "bot> {}", message.text)?;
                for button in &message.buttons {
                    writeln!(stdout, "     [{}] → {}", button.title, button.payload)?;
                }
            }
            if turn.handoff {
                writeln!(stdout, "     (the bot hands this conversation to a person)")?;
            }
            // The terminal has no actions: each one gets its fallback.
            let Some(action) = turn.action.take() else {
                break;
            };
            writeln!(
                stdout,
                "     (action `{}` is not available here)",
                action.name
            )?;
            turn = model.action_result(
                &mut conversation,
                &action.name,
                chatlet_engine::ActionOutcome::Unavailable,
            );
        }
    }
}

/// What `serve` needs for the JSON API.
struct ApiSettings {
    model: Option<PathBuf>,
    /// The SQLite history file; `None` keeps history in memory.
    db: Option<PathBuf>,
    keys: chatlet_server::ApiKeys,
    limits: chatlet_server::RateLimits,
    skills: chatlet_server::SkillSettings,
}

/// `--skill NAME=URL` flags as a map from action name to URL.
fn skill_webhooks(flags: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut webhooks = std::collections::BTreeMap::new();
    for flag in flags {
        let Some((name, url)) = flag.split_once('=') else {
            bail!(
                "--skill `{flag}`: expected NAME=URL, as in check_order=http://127.0.0.1:9000/orders"
            );
        };
        if webhooks
            .insert(name.trim().to_owned(), url.trim().to_owned())
            .is_some()
        {
            bail!("--skill `{flag}`: the action `{name}` has two webhooks");
        }
    }
    Ok(webhooks)
}

fn serve(addr: &str, site_root: PathBuf, models: PathBuf, settings: ApiSettings) -> Result<()> {
    // Logs on standard error: standard output carries only the line that says where it serves.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if !site_root.join("index.html").is_file() {
        bail!(
            "{} has no index.html; pass --root with the chatlet project folder",
            site_root.display()
        );
    }
    let model = match &settings.model {
        Some(path) => Some(load_model(path)?),
        None => None,
    };
    for action in settings.skills.webhooks.keys() {
        let Some(model) = &model else {
            bail!("--skill needs --model: the webhooks answer the bot's actions");
        };
        let actions = &model.policy().actions;
        if !actions.iter().any(|a| &a.name == action) {
            let names: Vec<&str> = actions.iter().map(|a| a.name.as_str()).collect();
            bail!(
                "--skill {action}: the bot has no action `{action}` (its actions: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            );
        }
    }
    let skills = chatlet_server::Skills::new(settings.skills).context("cannot use --skill")?;
    let store: std::sync::Arc<dyn chatlet_server::Storage> = match &settings.db {
        Some(path) => {
            let store = chatlet_server::SqliteStore::open(path).with_context(|| {
                format!(
                    "cannot open the history database {} (choose another with --db FILE, or \
                     --history-in-memory)",
                    path.display()
                )
            })?;
            tracing::info!(file = %path.display(), "history kept in SQLite");
            std::sync::Arc::new(store)
        }
        None => {
            tracing::info!("history kept in memory: it is lost when the server stops");
            std::sync::Arc::new(chatlet_server::MemoryStore::new())
        }
    };
    let api =
        chatlet_server::Api::new(model, settings.keys, settings.limits, store).with_skills(skills);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        // Tests and `cargo xtask demo` wait for this exact line.
        println!("chatlet serving http://{local}/");
        chatlet_server::serve(
            listener,
            chatlet_server::AppState {
                site_root,
                models,
                api: std::sync::Arc::new(api),
            },
        )
        .await
    })
}
