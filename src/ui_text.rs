//! The widget's own labels in each UI language.

use crate::options::UiLanguage;

/// Every label the widget shows or announces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UiText {
    pub(crate) open_chat: &'static str,
    pub(crate) close_chat: &'static str,
    pub(crate) messages: &'static str,
    /// Labels the button that forgets the conversation.
    pub(crate) clear_conversation: &'static str,
    /// Names the group of quick-reply buttons under a bot message.
    pub(crate) quick_replies: &'static str,
    pub(crate) input: &'static str,
    pub(crate) placeholder: &'static str,
    pub(crate) send: &'static str,
    pub(crate) you: &'static str,
    pub(crate) bot: &'static str,
    pub(crate) loading: &'static str,
    pub(crate) load_failed: &'static str,
}

impl UiText {
    pub(crate) fn for_language(language: UiLanguage) -> UiText {
        match language {
            UiLanguage::Chinese => UiText {
                open_chat: "打开聊天",
                close_chat: "关闭聊天",
                messages: "聊天记录",
                quick_replies: "快捷回复",
                clear_conversation: "清空对话",
                input: "输入消息",
                placeholder: "请输入您的问题…",
                send: "发送",
                you: "我",
                bot: "机器人",
                loading: "正在加载…",
                load_failed: "机器人加载失败",
            },
            UiLanguage::English => UiText {
                open_chat: "Open chat",
                close_chat: "Close chat",
                messages: "Messages",
                quick_replies: "Suggested replies",
                clear_conversation: "Clear conversation",
                input: "Type a message",
                placeholder: "Ask a question…",
                send: "Send",
                you: "You",
                bot: "Bot",
                loading: "Loading…",
                load_failed: "The bot could not be loaded",
            },
        }
    }
}
