package demo

// The written content of the sample tickets. Texts are templates: {first} is the customer's given
// name, {agent} the replying agent's, {order}, {invoice}, {amount}, {device}, {days} and {code}
// are drawn once per ticket so that every message of a conversation talks about the same order.

const (
	langEN = 0
	langES = 1
)

// teamNames are the teams the sample staff works in. A second run finds them by name and reuses
// them rather than inventing "Billing 2".
var teamNames = []string{"Billing", "Technical support", "Shipping & returns", "Accounts"}

const (
	teamBilling = iota
	teamTechnical
	teamShipping
	teamAccounts
)

// topic is one kind of problem customers write about, in both languages ([langEN], [langES]).
type topic struct {
	team     int
	weight   int // how often it comes up, relative to the others
	subjects [2][]string
	problems [2][]string // the customer's opening sentence(s)
	details  [2][]string // what they add: what they tried, why it matters
	fixes    [2][]string // the agent's answer when the ticket is solved
}

var topics = []topic{
	{team: teamAccounts, weight: 9,
		subjects: [2][]string{
			{"Can't log in to my account", "Login not working", "Unable to sign in since yesterday"},
			{"No puedo iniciar sesión", "Error al entrar en mi cuenta", "No me deja acceder a la cuenta"},
		},
		problems: [2][]string{
			{"I can't log in to my account. It keeps saying that my email or password is wrong, but I'm sure they are correct.", "Since yesterday I get an error when I try to sign in on my {device}."},
			{"No puedo entrar en mi cuenta. Me dice que el correo o la contraseña no son correctos, pero estoy segura de que lo son.", "Desde ayer me sale un error al iniciar sesión desde mi {device}."},
		},
		details: [2][]string{
			{"I have already cleared the browser cache and tried another browser.", "It worked fine last week and I haven't changed anything."},
			{"Ya he borrado la caché del navegador y he probado con otro navegador.", "La semana pasada funcionaba bien y no he cambiado nada."},
		},
		fixes: [2][]string{
			{"Your account had been locked after several failed attempts. I have unlocked it, so you should be able to sign in again now.", "There was a problem with your session on our side. I have reset it; please sign in again and it should work."},
			{"Tu cuenta se había bloqueado tras varios intentos fallidos. Ya la he desbloqueado y deberías poder entrar sin problema.", "Había un problema con tu sesión en nuestros servidores. La he restablecido; vuelve a iniciar sesión y debería funcionar."},
		},
	},
	{team: teamAccounts, weight: 8,
		subjects: [2][]string{
			{"Password reset email never arrives", "Password reset link expired", "Forgot my password"},
			{"No me llega el correo para restablecer la contraseña", "El enlace de recuperar contraseña ha caducado", "He olvidado mi contraseña"},
		},
		problems: [2][]string{
			{"I requested a password reset three times but the email never arrives.", "The password reset link says it has expired, even though I clicked it straight away."},
			{"He pedido tres veces restablecer la contraseña pero no me llega ningún correo.", "El enlace para cambiar la contraseña dice que ha caducado, aunque lo he abierto enseguida."},
		},
		details: [2][]string{
			{"I checked the spam folder too and there is nothing there.", "I need to get into my account today to download some documents."},
			{"He mirado también en la carpeta de spam y no hay nada.", "Necesito entrar hoy para descargar unos documentos."},
		},
		fixes: [2][]string{
			{"Our mail provider had bounced your address. I have cleared the block and sent you a new reset link, valid for 24 hours.", "I have sent you a new reset link by hand. Please open it in the same browser where you requested it."},
			{"Nuestro proveedor de correo tenía tu dirección bloqueada por un rebote. La he desbloqueado y te he enviado un enlace nuevo, válido durante 24 horas.", "Te he enviado un enlace nuevo manualmente. Ábrelo en el mismo navegador desde el que lo pediste."},
		},
	},
	{team: teamAccounts, weight: 4,
		subjects: [2][]string{
			{"Lost my phone, can't get two-factor code", "Two-factor authentication problem"},
			{"He perdido el móvil y no recibo el código de verificación", "Problema con la verificación en dos pasos"},
		},
		problems: [2][]string{
			{"I lost my phone and now I can't get the two-factor code to log in.", "The two-factor codes from my authenticator app are always rejected."},
			{"He perdido el móvil y ahora no puedo recibir el código de verificación para entrar.", "Los códigos de la aplicación de autenticación siempre me dan error."},
		},
		details: [2][]string{
			{"I don't have the backup codes anymore. How can I prove it's my account?", "The time on my phone is set automatically, so it shouldn't be that."},
			{"Ya no tengo los códigos de recuperación. ¿Cómo puedo demostrar que la cuenta es mía?", "La hora del móvil está en automático, así que no debería ser eso."},
		},
		fixes: [2][]string{
			{"Thanks for confirming your identity. I have disabled two-factor authentication on your account; please set it up again from your profile page.", "I have reset the two-factor settings on your account. You can enrol your new phone the next time you sign in."},
			{"Gracias por confirmar tu identidad. He desactivado la verificación en dos pasos; puedes volver a activarla desde tu perfil.", "He restablecido la verificación en dos pasos de tu cuenta. La próxima vez que entres podrás registrar el móvil nuevo."},
		},
	},
	{team: teamAccounts, weight: 3,
		subjects: [2][]string{
			{"Change the email address on my account", "Please delete my account"},
			{"Cambiar el correo electrónico de mi cuenta", "Quiero darme de baja y borrar mi cuenta"},
		},
		problems: [2][]string{
			{"I would like to change the email address on my account, as I no longer use the old one.", "Please close my account and delete my personal data."},
			{"Quería cambiar el correo de mi cuenta porque ya no uso el antiguo.", "Por favor, cerrad mi cuenta y borrad mis datos personales."},
		},
		details: [2][]string{
			{"The settings page does not let me edit it.", "I have no open orders."},
			{"Desde la página de ajustes no me deja modificarlo.", "No tengo ningún pedido pendiente."},
		},
		fixes: [2][]string{
			{"Done: your account now uses the new address. You will get a confirmation email there in a few minutes.", "Your account has been closed and your personal data will be erased within 30 days, as our privacy policy says."},
			{"Hecho: tu cuenta ya usa la dirección nueva. En unos minutos te llegará allí un correo de confirmación.", "Hemos cerrado tu cuenta y tus datos personales se borrarán en un plazo de 30 días, tal como indica nuestra política de privacidad."},
		},
	},
	{team: teamBilling, weight: 8,
		subjects: [2][]string{
			{"Wrong amount on invoice {invoice}", "Question about my last invoice", "Invoice doesn't match my plan"},
			{"Importe incorrecto en la factura {invoice}", "Duda sobre mi última factura", "La factura no coincide con mi plan"},
		},
		problems: [2][]string{
			{"Invoice {invoice} shows {amount}, but my plan should cost less than that.", "I have a question about my last invoice: there is a charge I don't recognise."},
			{"En la factura {invoice} aparece un importe de {amount}, pero mi plan debería costar menos.", "Tengo una duda con la última factura: hay un cargo que no reconozco."},
		},
		details: [2][]string{
			{"I changed plans last month, maybe that has something to do with it.", "Could you send me a breakdown of the charges?"},
			{"El mes pasado cambié de plan, quizá tenga algo que ver.", "¿Me podríais enviar el desglose de los cargos?"},
		},
		fixes: [2][]string{
			{"You were right: the plan change was billed twice. I have issued a credit note for the difference and you will see it on your next invoice.", "The extra charge is the prorated part of your plan change. I have attached a breakdown to your account so you can check each line."},
			{"Tenías razón: el cambio de plan se facturó dos veces. He emitido una factura rectificativa por la diferencia y la verás en la próxima factura.", "El cargo adicional corresponde al prorrateo del cambio de plan. He dejado el desglose en tu cuenta para que puedas revisar cada línea."},
		},
	},
	{team: teamBilling, weight: 6,
		subjects: [2][]string{
			{"Charged twice for the same order", "Double charge on my card"},
			{"Me habéis cobrado dos veces", "Cargo duplicado en la tarjeta"},
		},
		problems: [2][]string{
			{"I have been charged twice for order {order}: two payments of {amount} on my card.", "My bank statement shows the same payment of {amount} twice."},
			{"Me habéis cobrado dos veces el pedido {order}: dos cargos de {amount} en la tarjeta.", "En el extracto del banco aparece el mismo cargo de {amount} dos veces."},
		},
		details: [2][]string{
			{"I only placed the order once.", "Please refund the duplicate as soon as possible."},
			{"Solo hice el pedido una vez.", "Os agradecería que devolvierais el cargo duplicado cuanto antes."},
		},
		fixes: [2][]string{
			{"The second payment was a pre-authorisation that has now been released. Depending on your bank it can take 3 to 5 working days to disappear.", "I have refunded the duplicate payment of {amount}. It should appear on your card within 5 working days."},
			{"El segundo cargo era una preautorización que ya se ha liberado. Según el banco, puede tardar de 3 a 5 días hábiles en desaparecer.", "He devuelto el cargo duplicado de {amount}. Lo verás en la tarjeta en un plazo de 5 días hábiles."},
		},
	},
	{team: teamBilling, weight: 7,
		subjects: [2][]string{
			{"Refund request for order {order}", "When will I get my refund?", "Refund not received yet"},
			{"Solicitud de reembolso del pedido {order}", "¿Cuándo recibiré el reembolso?", "Todavía no he recibido el reembolso"},
		},
		problems: [2][]string{
			{"I returned order {order} {days} days ago and I still haven't received the refund.", "I would like a refund for order {order}; it is not what I expected."},
			{"Devolví el pedido {order} hace {days} días y todavía no he recibido el reembolso.", "Quisiera el reembolso del pedido {order}; no es lo que esperaba."},
		},
		details: [2][]string{
			{"The tracking says the parcel was delivered to your warehouse.", "The item is unused and still in its original packaging."},
			{"El seguimiento dice que el paquete llegó a vuestro almacén.", "El artículo está sin usar y en su embalaje original."},
		},
		fixes: [2][]string{
			{"Your return has been checked and I have issued the refund of {amount} to your original payment method.", "The refund of {amount} was processed today. You should see it in 3 to 5 working days."},
			{"Hemos revisado la devolución y he tramitado el reembolso de {amount} al método de pago original.", "El reembolso de {amount} se ha procesado hoy. Lo verás en un plazo de 3 a 5 días hábiles."},
		},
	},
	{team: teamBilling, weight: 4,
		subjects: [2][]string{
			{"Payment declined but card is valid", "Cancel my subscription", "Please add VAT number to invoices"},
			{"Pago rechazado pero la tarjeta es válida", "Cancelar mi suscripción", "Añadir el NIF en las facturas"},
		},
		problems: [2][]string{
			{"My payment keeps being declined although the card works everywhere else.", "I would like to cancel my subscription at the end of the current period.", "Our invoices need to show our VAT number, and I can't find where to add it."},
			{"El pago me da error aunque la tarjeta funciona en todas partes.", "Quiero cancelar mi suscripción al final del periodo actual.", "Necesitamos que las facturas lleven nuestro NIF y no encuentro dónde añadirlo."},
		},
		details: [2][]string{
			{"Please let me know what I need to do.", "Our accountant needs the corrected invoices this month."},
			{"Decidme qué tengo que hacer, por favor.", "Nuestra gestoría necesita las facturas corregidas este mes."},
		},
		fixes: [2][]string{
			{"All set. The change is applied to your account and you will receive a confirmation email.", "I have updated your billing details; future invoices will include them and I have reissued the last one."},
			{"Listo. El cambio ya está aplicado en tu cuenta y recibirás un correo de confirmación.", "He actualizado tus datos de facturación; las próximas facturas ya los incluirán y he vuelto a emitir la última."},
		},
	},
	{team: teamShipping, weight: 10,
		subjects: [2][]string{
			{"Order {order} hasn't arrived", "Delivery is late", "Where is my parcel?"},
			{"El pedido {order} no ha llegado", "Retraso en la entrega", "¿Dónde está mi paquete?"},
		},
		problems: [2][]string{
			{"My order {order} was supposed to arrive {days} days ago and it still hasn't come.", "The delivery date for order {order} has passed and I have no news."},
			{"Mi pedido {order} tenía que haber llegado hace {days} días y todavía no lo tengo.", "Ya ha pasado la fecha de entrega del pedido {order} y no sé nada."},
		},
		details: [2][]string{
			{"The tracking page hasn't changed for days.", "It is a present, so I really need it this week."},
			{"El seguimiento no se ha actualizado desde hace días.", "Es un regalo, así que lo necesito esta semana sin falta."},
		},
		fixes: [2][]string{
			{"The courier had the wrong house number. They have corrected it and will deliver your parcel tomorrow.", "Your parcel was lost in transit, so I have sent a replacement by express delivery at no cost."},
			{"La empresa de transporte tenía mal el número de la calle. Ya lo han corregido y te lo entregarán mañana.", "El paquete se perdió en el transporte, así que te he enviado otro por mensajería urgente sin coste."},
		},
	},
	{team: teamShipping, weight: 6,
		subjects: [2][]string{
			{"Item arrived damaged", "Broken product in my order {order}"},
			{"El producto llegó dañado", "Artículo roto en el pedido {order}"},
		},
		problems: [2][]string{
			{"The item in order {order} arrived broken: the box was crushed and the glass is cracked.", "My order arrived today but the product is damaged."},
			{"El artículo del pedido {order} llegó roto: la caja venía aplastada y el cristal está rajado.", "Hoy me ha llegado el pedido, pero el producto está dañado."},
		},
		details: [2][]string{
			{"I have taken photos of the box and the product.", "I would prefer a replacement rather than a refund."},
			{"He hecho fotos de la caja y del producto.", "Prefiero que me lo cambiéis antes que el reembolso."},
		},
		fixes: [2][]string{
			{"Sorry about that. A replacement is on its way and there is no need to send the damaged item back.", "I have arranged a free collection of the damaged item and a full refund of {amount}."},
			{"Lo sentimos mucho. Te hemos enviado uno nuevo y no hace falta que devuelvas el dañado.", "He organizado la recogida gratuita del artículo dañado y el reembolso completo de {amount}."},
		},
	},
	{team: teamShipping, weight: 5,
		subjects: [2][]string{
			{"Received the wrong item", "How do I return an item?", "Return label not working"},
			{"He recibido un artículo equivocado", "¿Cómo hago una devolución?", "La etiqueta de devolución no funciona"},
		},
		problems: [2][]string{
			{"I ordered a blue one in size M and received a black one in size L.", "I'd like to return part of order {order}, but the return label I downloaded is not accepted at the post office."},
			{"Pedí uno azul de la talla M y me ha llegado uno negro de la talla L.", "Quiero devolver parte del pedido {order}, pero en la oficina de correos no aceptan la etiqueta que descargué."},
		},
		details: [2][]string{
			{"Can you arrange a collection from my home?", "I'm away from next week, so I'd like to sort it out soon."},
			{"¿Podéis pasar a recogerlo por casa?", "La semana que viene estoy fuera, así que me gustaría solucionarlo pronto."},
		},
		fixes: [2][]string{
			{"I have emailed you a new prepaid return label; the courier will also accept it at any drop-off point.", "A courier will collect the item on the date you chose, and the correct one has been sent today."},
			{"Te he enviado por correo una etiqueta de devolución nueva y prepagada; también la aceptan en cualquier punto de entrega.", "Un mensajero pasará a recoger el artículo el día que elegiste y hoy mismo te hemos enviado el correcto."},
		},
	},
	{team: teamShipping, weight: 3,
		subjects: [2][]string{
			{"Tracking number not updating", "Missing parts in my order"},
			{"El número de seguimiento no se actualiza", "Faltan piezas en mi pedido"},
		},
		problems: [2][]string{
			{"The tracking number for order {order} shows \"label created\" and nothing else.", "The package arrived but some of the parts listed on the instructions are missing."},
			{"El seguimiento del pedido {order} solo dice \"etiqueta creada\" y nada más.", "El paquete ha llegado pero faltan algunas de las piezas que aparecen en las instrucciones."},
		},
		details: [2][]string{
			{"Has it actually been sent?", "I can't assemble it without them."},
			{"¿Se ha enviado de verdad?", "Sin ellas no lo puedo montar."},
		},
		fixes: [2][]string{
			{"The parcel left our warehouse late; it is now with the courier and tracking works again.", "The missing parts have been sent separately and should arrive within 2 working days."},
			{"El paquete salió tarde del almacén; ya está en manos del transportista y el seguimiento funciona.", "Te hemos enviado aparte las piezas que faltaban; llegarán en 2 días hábiles."},
		},
	},
	{team: teamTechnical, weight: 8,
		subjects: [2][]string{
			{"App crashes on startup", "The app keeps crashing", "App closes when I open my orders"},
			{"La aplicación se cierra al abrirla", "La app se cuelga continuamente", "La app se cierra al entrar en mis pedidos"},
		},
		problems: [2][]string{
			{"Since the last update the app crashes as soon as I open it on my {device}.", "The app closes by itself every time I open the orders screen."},
			{"Desde la última actualización la aplicación se cierra nada más abrirla en mi {device}.", "La app se cierra sola cada vez que entro en la pantalla de pedidos."},
		},
		details: [2][]string{
			{"I have reinstalled it and restarted the phone, with no luck.", "It shows error {code} for a second before closing."},
			{"La he reinstalado y he reiniciado el móvil, pero nada.", "Durante un segundo aparece el error {code} antes de cerrarse."},
		},
		fixes: [2][]string{
			{"This was a bug in the last release, fixed in the version published today. Please update the app and let us know if it happens again.", "Clearing the app data fixed it on our test device. Settings, Apps, our app, Storage, Clear data, and then sign in again."},
			{"Era un fallo de la última versión, corregido en la que hemos publicado hoy. Actualiza la app y avísanos si vuelve a pasar.", "En nuestro dispositivo de pruebas se solucionó borrando los datos de la app: Ajustes, Aplicaciones, nuestra app, Almacenamiento, Borrar datos, y vuelve a iniciar sesión."},
		},
	},
	{team: teamTechnical, weight: 6,
		subjects: [2][]string{
			{"API returns 500 Internal Server Error", "API error when creating orders", "Getting 429 Too Many Requests from the API"},
			{"La API devuelve un error 500", "Error de la API al crear pedidos", "La API responde 429 Too Many Requests"},
		},
		problems: [2][]string{
			{"Our integration gets HTTP 500 from POST /v2/orders since this morning.", "The API started answering 429 Too Many Requests although we send fewer than ten requests a minute."},
			{"Nuestra integración recibe un HTTP 500 en POST /v2/orders desde esta mañana.", "La API ha empezado a responder 429 Too Many Requests aunque enviamos menos de diez peticiones por minuto."},
		},
		details: [2][]string{
			{"The request id in the response is {code}. Nothing changed on our side.", "This is blocking our warehouse, so it is quite urgent."},
			{"El identificador de la petición es {code}. No hemos cambiado nada por nuestra parte.", "Esto tiene parado nuestro almacén, así que es bastante urgente."},
		},
		fixes: [2][]string{
			{"A configuration change on one of our API servers caused the errors. It was rolled back and your requests are succeeding again.", "Your API key had been given the trial rate limit by mistake. I have restored the normal limit."},
			{"Un cambio de configuración en uno de nuestros servidores de la API provocaba los errores. Lo hemos revertido y vuestras peticiones vuelven a funcionar.", "Por error, vuestra clave de API tenía el límite de la prueba gratuita. Ya he restaurado el límite normal."},
		},
	},
	{team: teamTechnical, weight: 4,
		subjects: [2][]string{
			{"Webhooks stopped arriving", "Data export to CSV is empty", "Sync between app and website not working"},
			{"Han dejado de llegar los webhooks", "La exportación a CSV sale vacía", "No se sincroniza la app con la web"},
		},
		problems: [2][]string{
			{"We stopped receiving webhook notifications for new orders {days} days ago.", "When I export my data to CSV the file only has the header row.", "Changes I make on the website don't show up in the app."},
			{"Hace {days} días que dejamos de recibir los webhooks de pedidos nuevos.", "Cuando exporto los datos a CSV el archivo solo tiene la fila de cabecera.", "Los cambios que hago en la web no aparecen en la app."},
		},
		details: [2][]string{
			{"Our endpoint is up and answers 200 to test requests.", "We need this data for our monthly report."},
			{"Nuestro servidor está activo y responde 200 a las pruebas.", "Necesitamos estos datos para el informe mensual."},
		},
		fixes: [2][]string{
			{"Your endpoint's certificate had expired, so deliveries were failing and got paused. Deliveries are re-enabled and the missed events have been resent.", "The export was filtering by the wrong date range. That is fixed and a new export is ready in your account."},
			{"El certificado de vuestro servidor había caducado, así que las entregas fallaban y se pausaron. Ya están reactivadas y hemos reenviado los eventos pendientes.", "La exportación filtraba por un rango de fechas equivocado. Ya está corregido y tienes una exportación nueva en tu cuenta."},
		},
	},
	{team: teamTechnical, weight: 3,
		subjects: [2][]string{
			{"Website very slow", "Not receiving notifications", "Error {code} when uploading a file"},
			{"La web va muy lenta", "No me llegan las notificaciones", "Error {code} al subir un archivo"},
		},
		problems: [2][]string{
			{"The website has been extremely slow for the last few days; pages take more than ten seconds to load.", "I no longer get push notifications on my {device}.", "Uploading a PDF fails with error {code}."},
			{"Desde hace unos días la web va lentísima; las páginas tardan más de diez segundos en cargar.", "Ya no me llegan las notificaciones en el {device}.", "Al subir un PDF me sale el error {code}."},
		},
		details: [2][]string{
			{"It happens both at home and at the office.", "Notifications are enabled in the phone settings."},
			{"Me pasa tanto en casa como en la oficina.", "Las notificaciones están activadas en los ajustes del móvil."},
		},
		fixes: [2][]string{
			{"We found and fixed the cause on our side; it should work normally again. Thanks for your patience.", "A setting on your account was out of date. I have corrected it and it works in our tests now."},
			{"Hemos encontrado y corregido la causa en nuestros sistemas; ya debería funcionar con normalidad. Gracias por la paciencia.", "Había un ajuste desactualizado en tu cuenta. Lo he corregido y en nuestras pruebas ya funciona."},
		},
	},
}

// Greetings and sign-offs, [langEN] and [langES].
var (
	customerGreetings = [2][]string{
		{"Hello,", "Hi,", "Hi there,", "Good morning,", "Dear support team,"},
		{"Hola,", "Buenos días,", "Buenas tardes,", "Hola, buenas:", "Estimado equipo de soporte:"},
	}
	customerClosings = [2][]string{
		{"Thanks in advance.", "Thank you.", "Looking forward to your reply.", "Any help would be appreciated."},
		{"Gracias de antemano.", "Muchas gracias.", "Quedo a la espera de vuestra respuesta.", "Cualquier ayuda es bienvenida."},
	}
	customerSignoffs = [2][]string{
		{"{first}", "Regards,\n{first}", "Best,\n{first}", "Kind regards,\n{fullname}"},
		{"{first}", "Un saludo,\n{first}", "Saludos,\n{fullname}", "Gracias,\n{first}"},
	}
	agentGreetings = [2][]string{
		{"Hi {first},", "Hello {first},", "Dear {first},"},
		{"Hola, {first}:", "Hola {first},", "Buenos días, {first}:"},
	}
	agentThanks = [2][]string{
		{"Thanks for contacting us.", "Thank you for getting in touch.", "Thanks for your message and sorry for the trouble."},
		{"Gracias por escribirnos.", "Gracias por ponerte en contacto con nosotros.", "Gracias por tu mensaje y disculpa las molestias."},
	}
	agentSignoffs = [2][]string{
		{"Best regards,\n{agent}\nCustomer Support", "Kind regards,\n{agent}", "Cheers,\n{agent}\nSupport team"},
		{"Un saludo,\n{agent}\nAtención al cliente", "Saludos,\n{agent}", "Un abrazo,\n{agent}\nEquipo de soporte"},
	}
	// askInfo is what an agent writes when the ticket then waits on the customer.
	askInfo = [2][]string{
		{"To look into this, could you send us the exact error message and the time it happened?", "Could you confirm the order number and the email address you used when buying?", "Could you send us a screenshot of what you see? That will help us find the problem."},
		{"Para revisarlo, ¿nos podrías enviar el mensaje de error exacto y la hora a la que ocurrió?", "¿Nos confirmas el número de pedido y el correo con el que hiciste la compra?", "¿Nos podrías enviar una captura de pantalla de lo que ves? Así encontraremos el problema antes."},
	}
	// working is an agent's holding answer while the ticket stays open or on hold.
	working = [2][]string{
		{"I have passed this on to the team responsible and will get back to you as soon as I hear from them.", "We are looking into it now. I'll update you within the next working day.", "I'm checking this with our logistics partner and will let you know what they say."},
		{"Lo he pasado al equipo responsable y te escribo en cuanto me respondan.", "Ya lo estamos revisando. Te digo algo como muy tarde el próximo día laborable.", "Lo estoy consultando con la empresa de transporte y te cuento en cuanto me contesten."},
	}
	// followUps are the customer's answers later in a conversation.
	followUps = [2][]string{
		{"Thanks for the quick answer. The order number is {order} and it happened this morning around 10.", "Here is the screenshot you asked for. It still happens every time.", "I tried what you said but it still doesn't work. Is there anything else I can do?", "Any news on this? I still have the same problem."},
		{"Gracias por la respuesta tan rápida. El número de pedido es {order} y pasó esta mañana sobre las 10.", "Os adjunto la captura que me pedisteis. Sigue pasando siempre.", "He probado lo que me dijiste pero sigue sin funcionar. ¿Puedo hacer algo más?", "¿Hay alguna novedad? Sigo con el mismo problema."},
	}
	// notes are internal: short, in the staff's working language, never shown to the customer.
	notes = []string{
		"Checked the logs: same error as the incident last week. Linked to the engineering ticket.",
		"Customer has been with us for years, let's be generous with the refund.",
		"Waiting for the carrier's claim number before we can do anything.",
		"Called the customer, no answer. Will try again tomorrow.",
		"Escalated to second level, they will look at it today.",
		"Payment provider confirms the second charge was only a pre-authorisation.",
		"Reproduced on staging with the same app version.",
		"Revisado con el almacén: el paquete salió con retraso.",
		"He hablado con facturación, emiten la rectificativa esta semana.",
		"Cliente muy molesto, tratar con prioridad.",
	}
	holdNotes = []string{
		"On hold until the carrier answers our claim.",
		"On hold: waiting for the payment provider's investigation.",
		"On hold while engineering deploys the fix.",
		"En espera de que el proveedor nos confirme la fecha.",
	}
	resolvedFollowUps = [2][]string{
		{"Great, that worked. Thank you!", "Perfect, thanks a lot for your help."},
		{"Perfecto, ya funciona. ¡Muchas gracias!", "Genial, muchas gracias por la ayuda."},
	}
	closingLines = [2][]string{
		{"If you need anything else, just reply to this email.", "Let us know if there's anything else we can do."},
		{"Si necesitas algo más, responde a este correo.", "Cualquier otra cosa, aquí estamos."},
	}
)

// errorCodes fill {code}: request ids and application error codes.
var errorCodes = []string{"E-1042", "E-2210", "0x80070005", "ERR_NETWORK", "req_8f3a21c", "req_c41d9e0", "E-503", "SYNC-17"}

// urgencies by share of tickets: most are normal, as on any real desk.
var urgencyWeights = []int{15, 65, 15, 5} // low, normal, high, urgent

var urgencyNames = []string{"", "low", "normal", "high", "urgent"}

// channels by share of tickets.
var (
	channelNames   = []string{"email", "web", "api", "phone"}
	channelWeights = []int{50, 30, 8, 12}
)
