// Progressive enhancement for the upload page: send the file without leaving the page, then
// show the receipt when the gateway has answered. Without this script the form posts
// normally and the upload's own page links to the submission.
"use strict";

function receiptInto(target, submissionId) {
  fetch("/submissions/" + encodeURIComponent(submissionId), {credentials: "same-origin"})
    .then(function (r) { return r.text(); })
    .then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var receipt = doc.querySelector(".receipt");
      var link = document.createElement("p");
      var a = document.createElement("a");
      a.href = "/submissions/" + encodeURIComponent(submissionId);
      a.textContent = "Open the submission and its downloads";
      link.appendChild(a);
      target.replaceChildren(link);
      if (receipt) { target.appendChild(document.importNode(receipt, true)); }
    });
}

function watchUpload(target, uploadId) {
  var tries = 0;
  function poll() {
    fetch("/api/v1/uploads/" + encodeURIComponent(uploadId), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (state) {
        if (state.state === "answered" && state.submission_id) {
          receiptInto(target, state.submission_id);
        } else if (tries++ < 600) {
          setTimeout(poll, 1000);
        }
      });
  }
  poll();
}

document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  var result = document.getElementById("upload-result");
  if (form && result && window.fetch && window.FormData) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) { return; }
      var body = new FormData();
      body.append("file", file);
      result.textContent = "Sending " + file.name + "…";
      fetch("/api/v1/uploads", {method: "POST", body: body, credentials: "same-origin",
                                headers: {"X-CSRF-Token": form.dataset.csrf}})
        .then(function (r) { return r.json().then(function (data) { return [r, data]; }); })
        .then(function (pair) {
          var r = pair[0], data = pair[1];
          if (!r.ok) {
            result.textContent = "Refused: " + (data.error ? data.error.message : r.status);
            return;
          }
          result.textContent = "Taken: waiting for the gateway to answer " + file.name + "…";
          watchUpload(result, data.upload_id);
        })
        .catch(function () { result.textContent = "The upload failed; try again."; });
    });
  }
  var state = document.getElementById("upload-state");
  if (state && state.dataset.upload && !state.querySelector("a[href^='/submissions/']")) {
    watchUpload(state, state.dataset.upload);
  }
});
