//! Tests that run inside headless Chromium (`wasm-bindgen-test`): the engine compiled to wasm,
//! and the widget mounted into a real DOM with a model served from a Blob URL.

use crate::{Chatlet, mount};
use chatlet_engine::{Model, TrainOptions, bot};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DEMO_BOT: &str = include_str!("../bots/shop-zh/bot.yaml");

fn demo_model() -> Model {
    let bot = bot::parse("bots/shop-zh/bot.yaml", DEMO_BOT).expect("the demo bot parses");
    Model::train(&bot, &TrainOptions::default(), &mut |_| {}).expect("the demo bot trains")
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        js_sys::Reflect::set(&object, &JsValue::from_str(key), value).unwrap();
    }
    object.into()
}

fn new_host() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document
        .create_element("chatlet-widget")
        .unwrap()
        .unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    host
}

/// A `blob:` URL serving `bytes`, so the widget's real fetch path is used without a server.
fn blob_url(bytes: &[u8]) -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

/// Mounts an open, English-labelled widget whose model is `model_bytes` behind a Blob URL.
fn mount_open(host: &web_sys::HtmlElement, model_bytes: &[u8]) -> Chatlet {
    let url = blob_url(model_bytes);
    mount(
        host.clone(),
        options(&[
            ("model", url.into()),
            ("lang", "en".into()),
            ("open", true.into()),
        ]),
    )
    .unwrap_or_else(|e| panic!("mount failed: {e:?}"))
}

/// Waits up to five seconds for the model to load.
async fn wait_ready(chat: &Chatlet) {
    for _ in 0..100 {
        if chat.ready() {
            return;
        }
        sleep(50).await;
    }
    panic!("the widget did not load its model within 5 s");
}

/// The texts of the messages in the widget's log, in order.
fn messages(host: &web_sys::HtmlElement) -> Vec<String> {
    let shadow = host
        .shadow_root()
        .expect("the widget renders into a shadow root");
    let nodes = shadow
        .query_selector_all("[role=log] [role=article] p")
        .unwrap();
    (0..nodes.length())
        .filter_map(|i| nodes.item(i)?.text_content())
        .collect()
}

/// A bot's files as `(name, text)`.
type BotFiles = &'static [(&'static str, &'static str)];

/// Every example bot (its files) with its stories, compiled in so the test needs no server.
const EXAMPLE_BOTS: &[(&str, BotFiles, &str)] = &[
    (
        "shop-zh",
        &[("bots/shop-zh/bot.yaml", DEMO_BOT)],
        include_str!("../bots/shop-zh/stories.yaml"),
    ),
    (
        "weather-zh",
        &[(
            "bots/weather-zh/bot.yaml",
            include_str!("../bots/weather-zh/bot.yaml"),
        )],
        include_str!("../bots/weather-zh/stories.yaml"),
    ),
    (
        "faq-en",
        &[
            (
                "bots/faq-en/bot.yaml",
                include_str!("../bots/faq-en/bot.yaml"),
            ),
            (
                "bots/faq-en/faq.yaml",
                include_str!("../bots/faq-en/faq.yaml"),
            ),
        ],
        include_str!("../bots/faq-en/stories.yaml"),
    ),
];

#[wasm_bindgen_test]
fn every_example_bot_passes_its_stories_in_wasm() {
    for (name, files, stories_file) in EXAMPLE_BOTS {
        let bot = bot::parse_files(files).expect("the example bot parses");
        let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).expect("it trains");
        let stories =
            chatlet_engine::stories::parse(name, stories_file).expect("its stories parse");
        assert!(!stories.is_empty());
        let failures = chatlet_engine::stories::run(&model, &stories);
        assert!(failures.is_empty(), "{name}: {failures:#?}");
    }
}

#[wasm_bindgen_test]
fn the_engine_trains_and_answers_inside_wasm() {
    let model = demo_model();
    assert_eq!(
        model.understand("请问什么时候发货", None).intent.as_deref(),
        Some("shipping_time")
    );
    assert_eq!(
        model
            .understand("can I pay with a credit card", None)
            .intent
            .as_deref(),
        Some("en_payment")
    );
    assert_eq!(model.understand("量子力学的基本原理", None).intent, None);
    let reloaded = Model::from_bytes(&model.to_bytes()).unwrap();
    assert_eq!(reloaded, model);
}

#[wasm_bindgen_test]
async fn the_widget_loads_a_model_answers_and_renders_text_not_html() {
    let host = new_host();
    let chat = mount_open(&host, &demo_model().to_bytes());
    wait_ready(&chat).await;
    assert!(
        messages(&host)[0].contains("小铺客服助手"),
        "the welcome comes first: {:?}",
        messages(&host)
    );

    chat.send("<img src=x onerror=\"window.__chatlet_xss=1\"> when will my order ship?");
    sleep(50).await;
    let shown = messages(&host);
    assert_eq!(
        shown[shown.len() - 2],
        "<img src=x onerror=\"window.__chatlet_xss=1\"> when will my order ship?"
    );
    assert!(
        shown[shown.len() - 1].starts_with("Orders ship within 48 hours"),
        "{shown:?}"
    );
    let shadow = host.shadow_root().unwrap();
    assert!(
        shadow.query_selector("img").unwrap().is_none(),
        "user text must never become HTML"
    );

    chat.close();
    sleep(20).await;
    assert!(
        shadow.query_selector("[role=dialog]").unwrap().is_none(),
        "close() hides the panel"
    );
    host.remove();
}

#[wasm_bindgen_test]
async fn a_missing_model_shows_an_error_instead_of_a_blank_widget() {
    let host = new_host();
    let chat = mount_open(&host, b"this is not a model");
    for _ in 0..100 {
        if host
            .shadow_root()
            .unwrap()
            .query_selector("[role=alert]")
            .unwrap()
            .is_some()
        {
            break;
        }
        sleep(50).await;
    }
    let alert = host
        .shadow_root()
        .unwrap()
        .query_selector("[role=alert]")
        .unwrap()
        .expect("an alert is shown");
    assert!(
        alert
            .text_content()
            .unwrap()
            .contains("not a chatlet model"),
        "{:?}",
        alert.text_content()
    );
    assert!(!chat.ready());
    host.remove();
}

#[wasm_bindgen_test]
fn bad_options_throw_only_when_the_widget_cannot_work() {
    // Without a usable model there is nothing to show: a TypeError naming the field.
    let fatal: [(JsValue, &str); 3] = [
        (
            JsValue::from_str("bot.chatlet"),
            "options must be an object",
        ),
        (options(&[]), "option `model` is required"),
        (
            options(&[("model", 7.into())]),
            "option `model` must be a string",
        ),
    ];
    for (bad, expected) in fatal {
        let host = new_host();
        let error = mount(host.clone(), bad).err().expect("mount must fail");
        assert!(error.is_instance_of::<js_sys::TypeError>(), "{error:?}");
        let message = js_sys::Error::from(error).message().as_string().unwrap();
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
        host.remove();
    }
    // Any other bad option is reported and replaced by its default: the widget still mounts.
    let lenient: [(JsValue, &str); 4] = [
        (
            options(&[("model", "m.chatlet".into()), ("open", "yes".into())]),
            "option `open` must be true or false; using the default",
        ),
        (
            options(&[("model", "m.chatlet".into()), ("lang", "fr".into())]),
            "option `lang` must be",
        ),
        (
            options(&[("model", "m.chatlet".into()), ("theme", "blue".into())]),
            "option `theme` must be",
        ),
        (
            options(&[("model", "m.chatlet".into()), ("titel", "x".into())]),
            "unknown option `titel` ignored",
        ),
    ];
    for (bad, expected) in lenient {
        let (_, problems) = crate::options::Options::from_js(&bad).expect("only a warning");
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{problems:?} should mention {expected:?}"
        );
        let host = new_host();
        assert!(mount(host.clone(), bad).is_ok());
        host.remove();
    }
}
