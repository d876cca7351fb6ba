//! The widget's own labels in each UI language.

use crate::options::UiLanguage;

/// Every label the widget shows or announces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UiText {
    /// The BCP 47 tag that formats times.
    pub(crate) locale: &'static str,
    /// Announced while the bot works on an answer.
    pub(crate) typing: &'static str,
    /// Alternative text of a bot message's image.
    pub(crate) image: &'static str,
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
    /// A person answering for the bot (human handoff).
    pub(crate) agent: &'static str,
    /// Marks a visitor message the server does not have yet (it is sent when back online).
    pub(crate) not_sent: &'static str,
    /// The connection to a chatlet server: online, reconnecting, offline.
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) online: &'static str,
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) connecting: &'static str,
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) offline: &'static str,
    pub(crate) loading: &'static str,
    pub(crate) load_failed: &'static str,
    /// Added to the launcher's label when bot messages arrived while the panel was closed.
    pub(crate) unread: fn(u32) -> String,
}

impl UiText {
    pub(crate) fn for_language(language: UiLanguage) -> UiText {
        match language {
            UiLanguage::Chinese => UiText {
                locale: "zh-CN",
                typing: "机器人正在输入…",
                image: "图片",
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
                agent: "客服",
                not_sent: "尚未发送",
                online: "已连接",
                connecting: "正在重新连接…暂由本页回答",
                offline: "离线：由本页回答，恢复联网后自动发送您的消息",
                loading: "正在加载…",
                load_failed: "机器人加载失败",
                unread: |n| format!("，{n} 条未读消息"),
            },
            UiLanguage::TraditionalChinese => UiText {
                locale: "zh-TW",
                typing: "機器人正在輸入…",
                image: "圖片",
                open_chat: "打開聊天",
                close_chat: "關閉聊天",
                messages: "聊天記錄",
                quick_replies: "快速回覆",
                clear_conversation: "清除對話",
                input: "輸入訊息",
                placeholder: "請輸入您的問題…",
                send: "傳送",
                you: "我",
                bot: "機器人",
                agent: "客服",
                not_sent: "尚未傳送",
                online: "已連線",
                connecting: "正在重新連線…暫由本頁回答",
                offline: "離線：由本頁回答，恢復連線後自動傳送您的訊息",
                loading: "正在載入…",
                load_failed: "機器人載入失敗",
                unread: |n| format!("，{n} 則未讀訊息"),
            },
            UiLanguage::English => UiText {
                locale: "en",
                typing: "The bot is typing…",
                image: "Image",
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
                agent: "Agent",
                not_sent: "Not sent yet",
                online: "Connected",
                connecting: "Reconnecting… answers come from this page meanwhile",
                offline: "Offline: answers come from this page; your messages are sent when you are back online",
                loading: "Loading…",
                load_failed: "The bot could not be loaded",
                unread: |n| format!(", {n} unread"),
            },
        }
    }
}
