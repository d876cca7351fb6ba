//! The `chatlet` binary run as a user runs it: train and check every example bot, report broken
//! bot files with file:line:column, and chat through `shell` on standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn chatlet(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatlet"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chatlet runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // A command that fails early (a damaged model) exits before reading: not an error here.
        match input.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatlet-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_example_bot_checks_and_trains() {
    let out_dir = scratch("bots");
    let mut count = 0;
    for entry in std::fs::read_dir(repo().join("bots")).unwrap() {
        let bot = entry.unwrap().path().join("bot.yaml");
        if !bot.is_file() {
            continue;
        }
        count += 1;
        // The folder is the bot (a bot may be split over several files).
        let bot = bot.parent().unwrap().to_str().unwrap();
        let check = chatlet(&["check", bot], None);
        assert!(check.status.success(), "{}", text(&check.stderr));
        let model = out_dir.join(format!("{count}.chatlet"));
        let train = chatlet(&["train", bot, "-o", model.to_str().unwrap()], None);
        assert!(train.status.success(), "{}", text(&train.stderr));
        assert!(std::fs::read(&model).unwrap().starts_with(b"CHATLET\0"));
    }
    assert!(count >= 3, "bots/ needs at least three example bots");
    std::fs::remove_dir_all(out_dir).unwrap();
}

#[test]
fn every_example_bot_passes_its_stories() {
    let mut count = 0;
    for entry in std::fs::read_dir(repo().join("bots")).unwrap() {
        let dir = entry.unwrap().path();
        let (bot, stories) = (dir.join("bot.yaml"), dir.join("stories.yaml"));
        if !bot.is_file() {
            continue;
        }
        assert!(stories.is_file(), "{} has no stories.yaml", dir.display());
        count += 1;
        // The folder is the bot (a bot may be split over several files).
        let out = chatlet(
            &[
                "test",
                "--model",
                dir.to_str().unwrap(),
                "--stories",
                stories.to_str().unwrap(),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains(" 0 failed"),
            "{}",
            text(&out.stdout)
        );
    }
    assert!(count >= 3);
}

#[test]
fn a_failing_story_names_its_line() {
    let dir = scratch("failing-story");
    let stories = dir.join("stories.yaml");
    std::fs::write(
        &stories,
        "stories:\n  - name: wrong\n    steps:\n      - user: 我想退货\n        intent: payment_methods\n",
    )
    .unwrap();
    let bot = repo().join("bots/shop-zh/bot.yaml");
    let out = chatlet(
        &[
            "test",
            "--model",
            bot.to_str().unwrap(),
            "--stories",
            stories.to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(
        report.contains("stories.yaml:4:9: story `wrong`"),
        "{report}"
    );
    assert!(
        report.contains("expected intent `payment_methods`, got `return_policy`"),
        "{report}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_broken_bot_lists_every_problem_at_its_place_and_writes_nothing() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken.yaml");
    let fixture = fixture.to_str().unwrap();
    let check = chatlet(&["check", fixture], None);
    assert_eq!(check.status.code(), Some(1));
    let stderr = text(&check.stderr);
    for expected in [
        format!("{fixture}:2:17: unknown language `klingon`"),
        format!("{fixture}:4:3: intent `greet` has no `responses`"),
        format!("{fixture}:7:20: example \"hello\" is under both `greet` (line 5) and `bye`"),
        "3 problems in".to_owned(),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let out_dir = scratch("broken");
    let model = out_dir.join("broken.chatlet");
    let train = chatlet(&["train", fixture, "-o", model.to_str().unwrap()], None);
    assert_eq!(train.status.code(), Some(1));
    assert!(
        !model.exists(),
        "a failed training must not leave a model behind"
    );
    std::fs::remove_dir_all(out_dir).unwrap();
}

#[test]
fn shell_answers_each_line_and_survives_odd_input() {
    let bot = repo().join("bots/shop-zh/bot.yaml");
    let long = "很长的问题".repeat(2000);
    let input =
        format!("什么时候发货\n\n   \n{long}\n🙂🙂\nمرحبا كيف حالك\nhow do I return an item\n");
    let shell = chatlet(&["shell", bot.to_str().unwrap(), "--verbose"], Some(&input));
    assert!(shell.status.success(), "{}", text(&shell.stderr));
    let stdout = text(&shell.stdout);
    let replies: Vec<&str> = stdout.lines().filter(|l| l.contains("bot> ")).collect();
    // The welcome, then one reply per non-blank line.
    assert_eq!(replies.len(), 1 + 5, "{stdout}");
    assert!(replies[1].contains("48小时内发货"), "{stdout}");
    assert!(stdout.contains("[shipping_time]"), "{stdout}");
    assert!(replies[5].contains("return any unused item"), "{stdout}");
}

#[test]
fn a_damaged_model_is_refused_with_a_clear_error() {
    let dir = scratch("damaged");
    let model = dir.join("bad.chatlet");
    std::fs::write(&model, b"CHATLET\0\x63\0\0\0junk").unwrap();
    let shell = chatlet(&["shell", model.to_str().unwrap()], Some("hi\n"));
    assert_eq!(shell.status.code(), Some(1));
    let stderr = text(&shell.stderr);
    assert!(
        stderr.contains("format version 99") && stderr.contains("retrain"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn trains_predicts_and_tests_a_jsonl_data_set() {
    let data = repo().join("crates/chatlet-cli/tests/fixtures/dataset");
    let dir = scratch("dataset");
    let model = dir.join("model.chatlet");
    let path = |name: &str| data.join(name).to_str().unwrap().to_owned();
    let train = chatlet(
        &[
            "train",
            &path("train.jsonl"),
            "--valid",
            &path("valid.jsonl"),
            "-o",
            model.to_str().unwrap(),
        ],
        None,
    );
    assert!(train.status.success(), "{}", text(&train.stderr));
    assert!(
        text(&train.stderr).contains("3 intents"),
        "{}",
        text(&train.stderr)
    );

    // predict: one JSON line per input line, other fields ignored, offsets in code points.
    let predict = chatlet(
        &["predict", "--model", model.to_str().unwrap()],
        Some("{\"text\": \"南京明天天气怎么样\", \"id\": 7}\n\n{\"text\": \"hello there\"}\n"),
    );
    assert!(predict.status.success(), "{}", text(&predict.stderr));
    let lines: Vec<serde_json::Value> = text(&predict.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["intent"], "weather");
    assert_eq!(
        lines[0]["entities"][0],
        serde_json::json!({"start": 0, "end": 2, "entity": "city", "value": "南京"})
    );
    assert_eq!(lines[1]["intent"], "greet");
    let ranking = lines[1]["ranking"].as_array().unwrap();
    assert_eq!(ranking.len(), 3);
    assert!(ranking[0]["confidence"].as_f64() >= ranking[1]["confidence"].as_f64());

    // test: the report's numbers and an HTML page with the heat map.
    let html = dir.join("report.html");
    let test = chatlet(
        &[
            "test",
            "--model",
            model.to_str().unwrap(),
            &path("test.jsonl"),
            "--html",
            html.to_str().unwrap(),
        ],
        None,
    );
    assert!(test.status.success(), "{}", text(&test.stderr));
    let report = text(&test.stdout);
    for line in [
        "accuracy ",
        "macro-F1",
        "out-of-scope recall",
        "slot F1",
        "per intent",
        "weather",
    ] {
        assert!(report.contains(line), "missing {line:?} in\n{report}");
    }
    let accuracy: f64 = report
        .lines()
        .find_map(|l| l.strip_prefix("accuracy "))
        .and_then(|rest| rest.trim().trim_end_matches('%').parse().ok())
        .expect("an accuracy line");
    assert!(accuracy >= 75.0, "{report}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<table class=\"matrix\"") && page.matches("<td ").count() == 16);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_broken_data_set_line_is_named() {
    let dir = scratch("broken-dataset");
    let file = dir.join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"text\": \"hi\", \"intent\": \"greet\"}\n{\"text\": \"bye\"}\n",
    )
    .unwrap();
    let out = chatlet(
        &[
            "train",
            file.to_str().unwrap(),
            "-o",
            dir.join("m.chatlet").to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("bad.jsonl:2: field `intent` is missing"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("m.chatlet").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Each file in `fixtures/broken-bots/` holds one kind of mistake and says, in its first line
/// (`# expect: LINE:COLUMN fragment`), where it must be reported and with what words.
#[test]
fn check_reports_every_kind_of_mistake_at_its_place() {
    let folder = repo().join("crates/chatlet-cli/tests/fixtures/broken-bots");
    let out = chatlet(&["check", folder.to_str().unwrap()], None);
    assert!(!out.status.success());
    let report = text(&out.stderr);
    let mut kinds = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let expect = source
            .lines()
            .next()
            .unwrap()
            .strip_prefix("# expect: ")
            .expect("an expect line");
        let (place, fragment) = expect.split_once(' ').unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let line = report
            .lines()
            .find(|l| l.contains(&format!("{name}:{place}: ")))
            .unwrap_or_else(|| panic!("no problem reported at {name}:{place}\n{report}"));
        assert!(
            line.contains(fragment.trim()),
            "{name}: want {fragment:?}, got {line}"
        );
        kinds += 1;
    }
    assert!(kinds >= 15, "{kinds}");
    assert!(
        report.contains(&format!("{kinds} of {kinds} bot files have problems")),
        "{report}"
    );
}

#[test]
fn imports_faq_sheets_rasa_and_nlpjs_into_bots_that_check_and_work() {
    let fixtures = repo().join("crates/chatlet-cli/tests/fixtures/import");
    let dir = scratch("import");
    let mut imported = Vec::new();
    for file in ["faq.csv", "rasa-nlu.yml", "nlpjs-corpus.json"] {
        let out = dir.join(format!("{file}.yaml"));
        let run = chatlet(
            &[
                "import",
                fixtures.join(file).to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            None,
        );
        assert!(run.status.success(), "{file}: {}", text(&run.stderr));
        let check = chatlet(&["check", out.to_str().unwrap()], None);
        assert!(check.status.success(), "{file}: {}", text(&check.stderr));
        imported.push(std::fs::read_to_string(&out).unwrap());
    }
    // The FAQ sheet: two phrasings of one answer become one entry; quotes and commas survive.
    assert!(
        imported[0].contains(r#"- q: ["能开发票吗", "怎么开发票"]"#),
        "{}",
        imported[0]
    );
    assert!(imported[0].contains(r#""满99元包邮, 不满收8元。""#));
    // Rasa: synonyms, regexes and lookup tables become entities; JSON annotations convert.
    for want in [
        r#""New York": ["NYC", "the big apple"]"#,
        r#""order_id": {regex:"#,
        r#""air china""#,
        "[NYC](city:New York)",
    ] {
        assert!(
            imported[1].contains(want),
            "missing {want} in\n{}",
            imported[1]
        );
    }
    // nlp.js: answers, option entities and regex entities.
    for want in [
        r#""Hey there!""#,
        r#""large": ["big", "huge"]"#,
        r#""email": {regex:"#,
    ] {
        assert!(
            imported[2].contains(want),
            "missing {want} in\n{}",
            imported[2]
        );
    }
    // The imported Rasa bot works: a synonym resolves to its canonical value.
    let bot = dir.join("rasa-nlu.yml.yaml");
    let predict = chatlet(
        &["predict", "--model", &train_to(&bot, &dir)],
        Some("{\"text\": \"book a flight to the big apple\"}\n"),
    );
    let line: serde_json::Value = serde_json::from_str(text(&predict.stdout).trim()).unwrap();
    assert_eq!(line["intent"], "book_flight", "{line}");
    assert!(
        line["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity"] == "city" && e["value"] == "New York"),
        "{line}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn train_to(bot: &Path, dir: &Path) -> String {
    let model = dir.join("trained.chatlet");
    let run = chatlet(
        &[
            "train",
            bot.to_str().unwrap(),
            "-o",
            model.to_str().unwrap(),
        ],
        None,
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    model.to_str().unwrap().to_owned()
}

#[test]
fn a_bot_split_over_a_folder_reports_problems_in_the_right_file() {
    let dir = scratch("split-bot");
    std::fs::write(
        dir.join("bot.yaml"),
        "name: split\nentities: {city: learned}\nintents:\n  weather: {examples: ['[北京](city)天气'], responses: '{city}晴'}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("faq.yaml"),
        "faq:\n  - q: [北京天气]\n    a: 晴\n  - q: [怎么开发票]\n    a: 可以\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("more.yaml"),
        "name: again\nintents:\n  weather: {examples: [下雨吗], responses: r}\n",
    )
    .unwrap();
    let out = chatlet(&["check", dir.to_str().unwrap()], None);
    assert!(!out.status.success());
    let report = text(&out.stderr);
    let bot = dir.join("bot.yaml").display().to_string();
    for want in [
        format!("faq.yaml:2:9: question \"北京天气\" is already an example of `weather` ({bot}:4)"),
        format!("more.yaml:1:1: `name` is already set at {bot}:1"),
        format!("more.yaml:3:3: intent `weather` is defined twice (first at {bot}:4)"),
    ] {
        assert!(report.contains(&want), "missing {want}\n{report}");
    }
    std::fs::remove_file(dir.join("more.yaml")).unwrap();
    std::fs::write(
        dir.join("faq.yaml"),
        "faq:\n  - q: [怎么开发票]\n    a: 可以\n",
    )
    .unwrap();
    let out = chatlet(&["check", dir.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok (2 intents)"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn serve_refuses_skills_it_cannot_call_before_it_listens() {
    let dir = scratch("skills");
    let model = train_to(&repo().join("bots/shop-zh"), &dir);
    let root = repo();
    let root = root.to_str().unwrap();
    let missing_ca = format!("{}/no-such-ca.pem", dir.display());
    for (skill, ca, expected) in [
        (
            "nope=http://127.0.0.1:9/hook",
            None,
            "no action `nope` (its actions: check_order)",
        ),
        (
            "check_order=ftp://skills.example/hook",
            None,
            "must start with https:// or http://",
        ),
        (
            "check_order=https://skills.example/hook",
            Some(missing_ca.as_str()),
            "cannot read --skill-ca",
        ),
        ("check_order", None, "expected NAME=URL"),
    ] {
        let mut args = vec![
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--root",
            root,
            "--model",
            &model,
            "--skill",
            skill,
        ];
        args.extend(ca.iter().flat_map(|ca| ["--skill-ca", *ca]));
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatlet"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chatlet runs");
        // A server that started anyway would run forever: give it 20 s, then fail.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("`serve --skill {skill}` started instead of refusing");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(1), "--skill {skill}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "--skill {skill}: {stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A `chatlet serve` started in `dir` (its working folder) with `args`; killed when dropped.
struct RunningServer {
    child: std::process::Child,
    address: String,
}

impl RunningServer {
    fn start(dir: &Path, args: &[&str]) -> RunningServer {
        let root = repo();
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatlet"))
            .args(["serve", "--addr", "127.0.0.1:0", "--root"])
            .arg(&root)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chatlet runs");
        let stdout = child.stdout.take().unwrap();
        // The first line is the address, or nothing when the server failed to start.
        let line = std::io::BufRead::lines(std::io::BufReader::new(stdout))
            .next()
            .expect("the server printed its address")
            .unwrap();
        let address = line
            .strip_prefix("chatlet serving http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .trim_end_matches('/')
            .to_owned();
        RunningServer { child, address }
    }

    /// One HTTP/1.1 request with the admin key; the status and the body as JSON.
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        use std::io::Read;
        let mut stream = std::net::TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer history-test-key\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            // One chunk is all these small answers take: its size line, then the data.
            body.split_once("\r\n")
                .unwrap()
                .1
                .rsplit_once("\r\n0")
                .unwrap()
                .0
        } else {
            body
        };
        (
            status,
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // SIGKILL: whatever was answered must already be in the file.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_keeps_history_in_a_sqlite_file_by_default() {
    let dir = scratch("default-history");
    let model = train_to(&repo().join("bots/shop-zh"), &dir);
    let args = ["--model", model.as_str(), "--admin-key", "history-test-key"];
    let session = {
        let server = RunningServer::start(&dir, &args);
        let (status, reply) = server.request(
            "POST",
            "/api/v1/chat",
            r#"{"user_id": "u1", "query": "你们几点开门"}"#,
        );
        assert_eq!(status, 200, "{reply}");
        reply["session_id"].as_str().unwrap().to_owned()
    };
    assert!(
        dir.join("chatlet-history.db").is_file(),
        "no chatlet-history.db in the working folder"
    );
    let server = RunningServer::start(&dir, &args);
    let (status, messages) =
        server.request("GET", &format!("/api/v1/sessions/{session}/messages"), "");
    assert_eq!(status, 200, "{messages}");
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["author"], "visitor");
    assert_eq!(messages[0]["text"], "你们几点开门");
    assert_eq!(messages[1]["author"], "bot");
    drop(server);

    // In memory, nothing is written, and a restart forgets.
    let memory_dir = scratch("memory-history");
    let memory_args = [&args[..], &["--history-in-memory"]].concat();
    let session = {
        let server = RunningServer::start(&memory_dir, &memory_args);
        let (status, reply) = server.request(
            "POST",
            "/api/v1/chat",
            r#"{"user_id": "u2", "query": "你好"}"#,
        );
        assert_eq!(status, 200, "{reply}");
        reply["session_id"].as_str().unwrap().to_owned()
    };
    let server = RunningServer::start(&memory_dir, &memory_args);
    let (status, _) = server.request("GET", &format!("/api/v1/sessions/{session}/messages"), "");
    assert_eq!(status, 404);
    assert_eq!(std::fs::read_dir(&memory_dir).unwrap().count(), 0);
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(memory_dir).unwrap();
}
