// OAuth 2.0 Form Post Response Mode: send the answer to the client at once.
document.getElementById("form-post").submit();
