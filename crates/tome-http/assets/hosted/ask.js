// Tome's hosted help centre: the Ask box, with JavaScript on.
//
// Without this script the box is a plain GET form: `<root>/ask?q=…` answers on the server. With
// it, the question is posted to the same URL and the answer streams into the page, without
// leaving it, as the assistant's UI message stream (server-sent events):
//   - answer text is added as text as it arrives (never parsed as HTML);
//   - each cited page becomes a numbered link (HTTP(S) URLs only);
//   - just before `finish`, a `data-tome-answer` part brings the server's sanitised HTML of the
//     whole answer (its Markdown rendered as articles are), which replaces the streamed text;
//   - `finish` carries the thread ID, so a follow-up question continues the conversation.
// The output is an aria-live region, aria-busy while the answer streams, so a screen reader
// reads the answer once, complete. The page's Content-Security-Policy allows this file and no
// inline script.
(function () {
  'use strict';

  var form = document.querySelector('form[data-ask]');
  if (!form || !window.fetch || !window.TextDecoder || !window.AbortController ||
      !window.ReadableStream || !window.URL) {
    return;
  }
  var input = form.querySelector('input[name="q"]');
  var output = form.parentNode && form.parentNode.querySelector('[data-ask-output]');
  if (!input || !output) return;
  var from = form.querySelector('input[name="from"]');

  var MAX_TURNS = 10;
  var turns = [];
  var threadId = null;
  var running = null;

  var REFUSED = {
    402: 'This help centre cannot answer more questions right now. Please search the articles instead, or try again later.',
    404: 'Questions cannot be asked here any more. Please reload the page.',
    429: 'You have asked a lot of questions in a short time. Please wait a minute and try again.'
  };
  var FAILED = 'The assistant could not answer just now. Please try again in a moment, or search the articles.';

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function httpUrl(url) {
    try {
      var u = new URL(url, window.location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  // The output region's parts for one question.
  function view(question) {
    while (output.firstChild) output.removeChild(output.firstChild);
    var v = {
      question: el('p', 'ask-question', question),
      status: el('p', 'ask-status', 'Looking through the articles…'),
      uncovered: el('p', 'ask-uncovered', 'The documentation doesn’t cover this question.'),
      answer: el('div', 'prose ask-answer ask-streaming'),
      sourcesTitle: el('p', 'ask-sources-title', 'Sources'),
      sources: el('ol', 'ask-sources'),
      seen: {}
    };
    v.uncovered.hidden = true;
    v.sourcesTitle.hidden = true;
    v.sources.hidden = true;
    v.sourcesTitle.id = 'tome-ask-live-sources';
    v.sources.setAttribute('aria-labelledby', 'tome-ask-live-sources');
    [v.question, v.status, v.uncovered, v.answer, v.sourcesTitle, v.sources].forEach(function (n) {
      output.appendChild(n);
    });
    output.hidden = false;
    output.setAttribute('aria-busy', 'true');
    return v;
  }

  function done(v, message) {
    if (message) {
      v.status.textContent = message;
      v.status.className = 'ask-status ask-failed';
      v.status.hidden = false;
    } else {
      v.status.hidden = true;
    }
    v.answer.classList.remove('ask-streaming');
    output.setAttribute('aria-busy', 'false');
  }

  function addSource(v, id, url, title) {
    var href = httpUrl(url);
    if (!href || v.seen[id]) return;
    v.seen[id] = true;
    var li = el('li');
    var a = el('a', null, title || href);
    a.href = href;
    li.appendChild(a);
    v.sources.appendChild(li);
    v.sources.hidden = false;
    v.sourcesTitle.hidden = false;
  }

  // Handles one chunk of the stream; returns true once the answer is complete.
  function chunk(v, c, state) {
    switch (c.type) {
      case 'text-delta':
        if (typeof c.delta === 'string') {
          v.status.hidden = true;
          v.answer.appendChild(document.createTextNode(c.delta));
          state.text += c.delta;
        }
        return false;
      case 'source-url':
        addSource(v, c.sourceId, c.url, c.title);
        return false;
      case 'data-tome-answer':
        if (c.data && typeof c.data.html === 'string') {
          // Rendered and sanitised by the server, like an article body.
          v.answer.innerHTML = c.data.html;
          if (c.data.unanswered) {
            v.uncovered.hidden = false;
            v.sourcesTitle.textContent = 'Closest pages';
          }
        }
        return false;
      case 'finish':
        if (c.messageMetadata && typeof c.messageMetadata.threadId === 'string') {
          threadId = c.messageMetadata.threadId;
        }
        state.finished = true;
        return true;
      case 'error':
        state.error = true;
        done(v, typeof c.errorText === 'string' && c.errorText ? c.errorText : FAILED);
        return true;
      default:
        return false;
    }
  }

  // The `data:` payload of one server-sent event, or null.
  function payload(event) {
    var data = [];
    event.split('\n').forEach(function (line) {
      if (line.indexOf('data:') === 0) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5));
    });
    return data.length ? data.join('\n') : null;
  }

  function refused(res) {
    var fallback = REFUSED[res.status] || FAILED;
    var type = res.headers.get('content-type') || '';
    if (res.status !== 422 || type.indexOf('application/json') < 0) {
      return Promise.resolve(fallback);
    }
    return res.json().then(function (body) {
      return body && body.error && body.error.message ? body.error.message : fallback;
    }, function () {
      return fallback;
    });
  }

  function read(res, v, signal) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    var state = { text: '', finished: false, error: false };
    function pump() {
      return reader.read().then(function (step) {
        if (signal.aborted) return state;
        if (!step.done) buffer += decoder.decode(step.value, { stream: true });
        buffer = buffer.replace(/\r\n?/g, '\n');
        var end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          var data = payload(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (data === null || data === '[DONE]') continue;
          var c;
          try {
            c = JSON.parse(data);
          } catch (e) {
            continue;
          }
          if (chunk(v, c, state)) return state;
        }
        if (step.done) return state;
        return pump();
      });
    }
    return pump();
  }

  function ask(question) {
    if (running) running.abort();
    var controller = new AbortController();
    running = controller;
    var statics = document.querySelectorAll('[data-ask-static]');
    for (var i = 0; i < statics.length; i++) statics[i].hidden = true;
    var v = view(question);
    var messages = turns.map(function (t) {
      return { role: t.role, parts: [{ type: 'text', text: t.text }] };
    });
    messages.push({ role: 'user', parts: [{ type: 'text', text: question }] });
    var path = from && from.value ? from.value : window.location.pathname;
    var body = { messages: messages };
    if (threadId) body.threadId = threadId;
    if (path.length <= 200) body.currentPath = path;
    fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
      body: JSON.stringify(body),
      signal: controller.signal
    }).then(function (res) {
      if (!res.ok || !res.body) {
        return refused(res).then(function (message) { done(v, message); });
      }
      return read(res, v, controller.signal).then(function (state) {
        if (controller.signal.aborted || state.error) return;
        if (!state.finished) {
          done(v, 'The answer was cut off. Please try again.');
          return;
        }
        done(v, null);
        turns.push({ role: 'user', text: question }, { role: 'assistant', text: state.text });
        turns = turns.slice(-MAX_TURNS);
      });
    }).catch(function () {
      if (!controller.signal.aborted) done(v, FAILED);
    }).then(function () {
      if (running === controller) running = null;
    });
  }

  form.addEventListener('submit', function (event) {
    var question = input.value.trim();
    if (!question) return;
    event.preventDefault();
    input.removeAttribute('aria-invalid');
    var error = document.getElementById('tome-ask-error');
    if (error) error.hidden = true;
    ask(question);
  });
})();
