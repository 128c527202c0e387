// The staff API as the console uses it: the bearer token from sessionStorage (never a URL, never a cookie),
// problem details turned into short polite Chinese messages.

const TOKEN_KEY = "zwb_staff_token";  // shared with the chat page (chats.js): one sign-in for the console

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  start: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  end: () => sessionStorage.removeItem(TOKEN_KEY),
};

const FALLBACK = {
  0: "网络连接失败，请检查网络后重试。",
  401: "登录已失效，请重新登录。",
  403: "您的岗位不能执行这个操作。",
  404: "没有找到，或不在您部门的办理范围内。",
  409: "办件状态已变化，请刷新后重试。",
  422: "填写的内容不完整或格式不对。",
  429: "操作太频繁了，请稍等几秒再试。",
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${session.token() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, cache: "no-store", credentials: "omit",
                                   body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, FALLBACK[0]);
  }
  if (response.ok) return response;
  let detail = "";
  try {
    detail = (await response.json()).detail || "";
  } catch { /* not a problem document */ }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("staff:signed-out", { detail: FALLBACK[401] }));
  }
  const message = response.status === 401 ? FALLBACK[401]
    : detail || FALLBACK[response.status] || "服务暂时不可用，请稍后再试。";
  throw new ApiError(response.status, message);
}

export async function getJson(path) {
  return (await call(path)).json();
}

export async function postJson(path, body) {
  return (await call(path, { method: "POST", body })).json();
}

export async function getBlob(path) {
  return (await call(path)).blob();
}
