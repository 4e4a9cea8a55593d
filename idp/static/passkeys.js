// Passkeys (WebAuthn): each element with data-passkey="register|sign-in|verify" drives one
// ceremony: ask the server for options, call navigator.credentials, send the answer back as
// JSON. URLs and the (translated) messages come from data-* attributes, the CSRF token from
// the hidden csrf_token input inside the element.
(function () {
  "use strict";

  // --- base64url <-> bytes (WebAuthn's JSON encodings, RFC 4648 section 5, no padding) ------

  function toBytes(value) {
    var base64 = String(value).replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var descriptor = { type: item.type, id: toBytes(item.id) };
      if (item.transports) {
        descriptor.transports = item.transports;
      }
      return descriptor;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var body = {};
    body.clientDataJSON = toBase64url(response.clientDataJSON);
    if (response.attestationObject) {
      body.attestationObject = toBase64url(response.attestationObject);
      if (typeof response.getTransports === "function") {
        body.transports = response.getTransports();
      }
    } else {
      body.authenticatorData = toBase64url(response.authenticatorData);
      body.signature = toBase64url(response.signature);
      if (response.userHandle) {
        body.userHandle = toBase64url(response.userHandle);
      }
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: body,
    };
  }

  // --- talking to idp -----------------------------------------------------------------------

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(
        function (data) {
          return { ok: response.ok, data: data };
        },
        function () {
          return { ok: false, data: {} };
        }
      );
    });
  }

  function ServerError(data) {
    this.data = data;
  }

  function setup(root) {
    var kind = root.getAttribute("data-passkey");
    var button = root.querySelector("[data-passkey-start]");
    var alert = root.querySelector("[data-passkey-error]");
    var nameInput = root.querySelector("[data-passkey-name]");
    // After a first passkey: the form that creates the first recovery codes (outside root).
    var recoveryForm = document.getElementById(root.getAttribute("data-recovery-form") || "");
    // Shown by default (no script, or no WebAuthn); hidden once the button can work.
    var unsupported = document.getElementById(root.getAttribute("data-unsupported") || "");
    if (!button || !window.PublicKeyCredential || !navigator.credentials) {
      return;
    }
    root.hidden = false;
    if (unsupported) {
      unsupported.hidden = true;
    }

    function message(name) {
      return root.getAttribute("data-error-" + name) || root.getAttribute("data-error-generic");
    }

    function show(name) {
      alert.textContent = message(name);
      alert.classList.add("alert");
      alert.hidden = false;
      if (nameInput && name === "name") {
        nameInput.setAttribute("aria-invalid", "true");
        nameInput.focus();
      }
    }

    function clear() {
      alert.textContent = "";
      alert.classList.remove("alert");
      alert.hidden = true;
      if (nameInput) {
        nameInput.removeAttribute("aria-invalid");
      }
    }

    // The server's error codes, by the message the customer sees for them.
    var known = {
      invalid_name: "name",
      unknown_credential: "refused",
      verification_failed: "refused",
      invalid_credential: "refused",
      access_denied: "refused",
    };

    var csrf = root.querySelector('input[name="csrf_token"]').value;
    var next = root.getAttribute("data-next") || undefined;

    function run() {
      clear();
      button.disabled = true;
      var start = {};
      if (nameInput) {
        start.name = nameInput.value;
      }
      post(root.getAttribute("data-options-url"), csrf, start)
        .then(function (answer) {
          if (!answer.ok) {
            throw new ServerError(answer.data);
          }
          var publicKey = answer.data.publicKey;
          if (kind === "register") {
            return navigator.credentials.create({ publicKey: creationOptions(publicKey) });
          }
          return navigator.credentials.get({ publicKey: requestOptions(publicKey) });
        })
        .then(function (credential) {
          if (!credential) {
            throw new DOMException("no credential", "NotAllowedError");
          }
          return post(root.getAttribute("data-finish-url"), csrf, {
            credential: credentialJSON(credential),
            next: next,
          });
        })
        .then(function (answer) {
          if (!answer.ok) {
            throw new ServerError(answer.data);
          }
          if (answer.data.recovery_codes && recoveryForm) {
            recoveryForm.submit();
            return;
          }
          window.location.assign(answer.data.redirect);
        })
        .catch(function (error) {
          button.disabled = false;
          if (error instanceof ServerError) {
            if (error.data.redirect) {
              window.location.assign(error.data.redirect);
              return;
            }
            show(known[error.data.error] || "generic");
          } else if (error && error.name === "NotAllowedError") {
            show("cancelled");
          } else if (error && error.name === "InvalidStateError") {
            show("exists");
          } else {
            show("generic");
          }
        });
    }

    if (root.tagName === "FORM") {
      // A form, so Enter in the name field adds the passkey too.
      root.addEventListener("submit", function (event) {
        event.preventDefault();
        run();
      });
    } else {
      button.addEventListener("click", run);
    }
  }

  var roots = document.querySelectorAll("[data-passkey]");
  for (var i = 0; i < roots.length; i++) {
    setup(roots[i]);
  }
})();
