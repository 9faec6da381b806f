import { SignIn } from "./sign-in.jsx";

export default function Home() {
  return (
    <>
      <h1>Sign in with WhatsApp</h1>
      <SignIn />
    </>
  );
}
