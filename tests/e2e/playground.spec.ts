import { expect, test } from "@playwright/test";
import { developer, login, snap } from "./helpers";

test("a developer chats in the playground through the gateway with a fresh playground key", async ({
  page,
}) => {
  await login(page, developer().email, developer().password);
  await page.getByRole("link", { name: "Chat" }).click();
  await expect(page.getByRole("heading", { name: "Playground" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();

  await page.getByRole("button", { name: "New 24-hour playground key" }).click();
  await expect(page.getByLabel("API key")).toHaveValue(/^tg_/);
  await page.getByLabel("Model").selectOption("fake-small");
  await page.getByLabel("Max tokens").fill("12");
  await page.getByLabel("Message").fill("Tell me about gateways");
  await page.getByRole("button", { name: "Send" }).click();

  const reply = page.getByTestId("message-assistant").last();
  await expect(reply).toHaveText(/\w+( \w+){11}/);
  await expect(page.getByTestId("turn-metadata").last()).toContainText("12 out tokens");
  await snap(page, "20-playground-reply");

  // A second turn keeps the conversation.
  await page.getByLabel("Message").fill("And again");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("message-assistant")).toHaveCount(2);

  // The playground key is a normal, expiring key of the developer's.
  await page.getByRole("link", { name: "My API keys" }).click();
  await expect(page.getByText(/Playground \d{4}-\d{2}-\d{2}/).first()).toBeVisible();
});

test("the gateway's refusal is shown in the playground", async ({ page }) => {
  await login(page, developer().email, developer().password);
  await page.goto("/playground");
  await page.getByLabel("API key").fill("tg_notARealKeynotARealKeynotARealKey");
  await page.getByLabel("Message").fill("hello");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("form-error")).toContainText(/Invalid API key/);
  await snap(page, "21-playground-refused");
});
